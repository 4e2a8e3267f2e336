package dev.inferpipe.core.webhook;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The {@code X-Inferpipe-Signature} header: {@code sha256=} and the lowercase hex HMAC-SHA-256 of
 * the request body, keyed with the webhook secret's UTF-8 bytes. A receiver recomputes it over
 * the raw body it read and compares in constant time ({@link #verify}).
 */
public final class WebhookSignature {
  public static final String HEADER = "X-Inferpipe-Signature";
  private static final String PREFIX = "sha256=";

  private WebhookSignature() {}

  public static String sign(String secret, byte[] body) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      return PREFIX + HexFormat.of().formatHex(mac.doFinal(body));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is missing from this JDK", e);
    }
  }

  /** True when {@code header} is the signature of {@code body} under {@code secret}. */
  public static boolean verify(String secret, byte[] body, String header) {
    if (header == null) {
      return false;
    }
    return MessageDigest.isEqual(sign(secret, body).getBytes(StandardCharsets.US_ASCII),
        header.trim().getBytes(StandardCharsets.US_ASCII));
  }
}
