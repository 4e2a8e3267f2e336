package dev.inferpipe.core.webhook;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class WebhookSignatureTest {
  @Test
  void isTheHexHmacSha256OfTheBody() {
    // RFC 4231, test case 2.
    assertThat(WebhookSignature.sign("Jefe",
        "what do ya want for nothing?".getBytes(StandardCharsets.UTF_8)))
        .isEqualTo("sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  }

  @Test
  void verifiesOnlyTheSameBodyUnderTheSameSecret() {
    byte[] body = "{\"job_id\":\"a\",\"status\":\"SUCCEEDED\"}".getBytes(StandardCharsets.UTF_8);
    String header = WebhookSignature.sign("s".repeat(32), body);
    assertThat(WebhookSignature.verify("s".repeat(32), body, header)).isTrue();
    assertThat(WebhookSignature.verify("s".repeat(32), body, " " + header + " ")).isTrue();
    assertThat(WebhookSignature.verify("t".repeat(32), body, header)).isFalse();
    assertThat(WebhookSignature.verify("s".repeat(32),
        "{\"job_id\":\"a\",\"status\":\"FAILED\"}".getBytes(StandardCharsets.UTF_8), header)).isFalse();
    assertThat(WebhookSignature.verify("s".repeat(32), body, null)).isFalse();
    assertThat(WebhookSignature.verify("s".repeat(32), body, header.substring(7))).isFalse();
  }
}
