package dev.inferpipe.core.kafka;

import dev.inferpipe.core.job.Sha256;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
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

  /** The {@link HeaderNames#SIGNATURE} header value, {@code v1=<hex>}, of a record without a key id. */
  public String sign(String jobId, String requestHash, String tenant, byte[] value) {
    return sign(jobId, requestHash, tenant, null, value);
  }

  /** @param keyId the submitting API key's id ({@link HeaderNames#API_KEY_ID}), or null */
  public String sign(String jobId, String requestHash, String tenant, String keyId,
      byte[] value) {
    return VERSION + "=" + HexFormat.of().formatHex(mac(jobId, requestHash, tenant, keyId, value));
  }

  /** True when {@code signature} is this key's signature of exactly these fields. */
  public boolean verify(String signature, String jobId, String requestHash, String tenant,
      byte[] value) {
    return verify(signature, jobId, requestHash, tenant, null, value);
  }

  public boolean verify(String signature, String jobId, String requestHash, String tenant,
      String keyId, byte[] value) {
    if (signature == null || !signature.startsWith(VERSION + "=")) {
      return false;
    }
    byte[] presented;
    try {
      presented = HexFormat.of().parseHex(signature.substring(VERSION.length() + 1));
    } catch (IllegalArgumentException e) {
      return false;
    }
    return MessageDigest.isEqual(presented, mac(jobId, requestHash, tenant, keyId, value));
  }

  private byte[] mac(String jobId, String requestHash, String tenant, String keyId,
      byte[] value) {
    // Fields are newline-separated; none may contain one (ids and hashes have a fixed alphabet,
    // tenants and key ids come from the keys file), so no two field lists sign alike. The key
    // id comes last and only when present, so records without one sign as before it existed.
    String fields = VERSION + "\n" + nullToEmpty(jobId) + "\n" + nullToEmpty(requestHash) + "\n"
        + nullToEmpty(tenant) + "\n" + Sha256.hex(value == null ? new byte[0] : value)
        + (keyId == null ? "" : "\nkey=" + keyId);
    return Sha256.hmac(key, fields.getBytes(StandardCharsets.UTF_8));
  }

  private static String nullToEmpty(String s) {
    return s == null ? "" : s;
  }

  @Override
  public String toString() {
    return "RecordSigner[key hidden]";
  }
}
