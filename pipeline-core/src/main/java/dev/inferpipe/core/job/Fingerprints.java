package dev.inferpipe.core.job;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
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
    return HexFormat.of().formatHex(Sha256.hmac(key, bytes));
  }

  @Override
  public String toString() {
    return "Fingerprints[key hidden]";
  }
}
