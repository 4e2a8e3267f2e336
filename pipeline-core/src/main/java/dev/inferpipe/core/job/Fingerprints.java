package dev.inferpipe.core.job;

import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Keyed fingerprints (HMAC-SHA-256, lowercase hex) of what users send: {@code prompt_hash} and
 * the request fingerprint carried as {@code request_sha256}. A plain SHA-256 of "a red circle"
 * is reversed by hashing guesses; without the deployment's hash key it cannot be.
 */
public final class Fingerprints {
  private final SecretKeySpec key;

  public Fingerprints(byte[] hashKey) {
    this.key = new SecretKeySpec(hashKey.clone(), "HmacSHA256");
  }

  public String promptHash(String prompt) {
    return hex(prompt.getBytes(StandardCharsets.UTF_8));
  }

  public String requestHash(byte[] canonicalJob) {
    return hex(canonicalJob);
  }

  private String hex(byte[] bytes) {
    return HexFormat.of().formatHex(hmac(key, bytes));
  }

  static byte[] hmac(SecretKeySpec key, byte[] bytes) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(key);
      return mac.doFinal(bytes);
    } catch (NoSuchAlgorithmException | InvalidKeyException e) {
      throw new IllegalStateException("every JVM ships HmacSHA256", e);
    }
  }

  @Override
  public String toString() {
    return "Fingerprints[key hidden]";
  }
}
