package dev.inferpipe.core.kafka;

import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Signs the request records producer-api writes, so gpu-consumer can tell them from records any
 * other Kafka client wrote: HMAC-SHA-256 over the job id, the request fingerprint, the tenant and
 * the SHA-256 of the value, with the deployment's signing key. The value's digest binds the
 * body: a signature copied onto another body does not verify.
 */
public final class RecordSigner {
  static final String VERSION = "v1";
  private final SecretKeySpec key;

  public RecordSigner(byte[] signingKey) {
    this.key = new SecretKeySpec(signingKey.clone(), "HmacSHA256");
  }

  /** The {@link HeaderNames#SIGNATURE} header value, {@code v1=<hex>}. */
  public String sign(String jobId, String requestHash, String tenant, byte[] value) {
    return VERSION + "=" + HexFormat.of().formatHex(mac(jobId, requestHash, tenant, value));
  }

  /** True when {@code signature} is this key's signature of exactly these fields. */
  public boolean verify(String signature, String jobId, String requestHash, String tenant,
      byte[] value) {
    if (signature == null || !signature.startsWith(VERSION + "=")) {
      return false;
    }
    byte[] presented;
    try {
      presented = HexFormat.of().parseHex(signature.substring(VERSION.length() + 1));
    } catch (IllegalArgumentException e) {
      return false;
    }
    return MessageDigest.isEqual(presented, mac(jobId, requestHash, tenant, value));
  }

  private byte[] mac(String jobId, String requestHash, String tenant, byte[] value) {
    // Fields are newline-separated; none may contain one (ids and hashes have a fixed alphabet,
    // tenants come from the keys file), so no two field lists sign alike.
    String fields = VERSION + "\n" + nullToEmpty(jobId) + "\n" + nullToEmpty(requestHash) + "\n"
        + nullToEmpty(tenant) + "\n" + sha256Hex(value);
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(key);
      return mac.doFinal(fields.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException | InvalidKeyException e) {
      throw new IllegalStateException("every JVM ships HmacSHA256", e);
    }
  }

  private static String nullToEmpty(String s) {
    return s == null ? "" : s;
  }

  private static String sha256Hex(byte[] value) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
          .digest(value == null ? new byte[0] : value));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM ships SHA-256", e);
    }
  }

  @Override
  public String toString() {
    return "RecordSigner[key hidden]";
  }
}
