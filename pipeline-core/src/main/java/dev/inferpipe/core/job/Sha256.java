package dev.inferpipe.core.job;

import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * SHA-256 as lowercase hex (API key hashes, model checksums, value digests), and HMAC-SHA-256 for
 * the keyed fingerprints and record signatures.
 */
public final class Sha256 {
  private Sha256() {}

  public static String hex(byte[] bytes) {
    return HexFormat.of().formatHex(digest().digest(bytes));
  }

  /** Reads {@code in} to its end (not closing it) and returns the SHA-256 of what it read. */
  public static String hex(java.io.InputStream in) throws java.io.IOException {
    MessageDigest digest = digest();
    byte[] buffer = new byte[1 << 16];
    for (int n; (n = in.read(buffer)) > 0; ) {
      digest.update(buffer, 0, n);
    }
    return HexFormat.of().formatHex(digest.digest());
  }

  /** The SHA-256 of a file, streamed (model graphs can be gigabytes). */
  public static String hex(java.nio.file.Path file) throws java.io.IOException {
    try (java.io.InputStream in = java.nio.file.Files.newInputStream(file)) {
      return hex(in);
    }
  }

  /** A fresh SHA-256 digest, for hashing while copying. */
  public static MessageDigest digest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM ships SHA-256", e);
    }
  }

  public static String hex(String text) {
    return hex(text.getBytes(StandardCharsets.UTF_8));
  }

  /** HMAC-SHA-256 of {@code bytes} with {@code key} (a {@code HmacSHA256} key spec). */
  public static byte[] hmac(SecretKeySpec key, byte[] bytes) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(key);
      return mac.doFinal(bytes);
    } catch (NoSuchAlgorithmException | InvalidKeyException e) {
      throw new IllegalStateException("every JVM ships HmacSHA256", e);
    }
  }
}
