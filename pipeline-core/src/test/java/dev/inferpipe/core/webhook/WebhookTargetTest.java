package dev.inferpipe.core.webhook;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class WebhookTargetTest {
  private static final List<String> ANY = List.of();

  @Test
  void httpsToAPublicHostIsAllowed() {
    assertThat(WebhookTarget.refusal("https://hooks.example.com/inferpipe?x=1", ANY, false))
        .isEmpty();
    assertThat(WebhookTarget.refusal("https://93.184.216.34:8443/h", ANY, false)).isEmpty();
  }

  @Test
  void onlyHttpsUnlessLoopbackIsAllowed() {
    assertThat(WebhookTarget.refusal("http://hooks.example.com/", ANY, false))
        .contains("must be https");
    assertThat(WebhookTarget.refusal("http://127.0.0.1:9999/", ANY, false)).contains("must be https");
    assertThat(WebhookTarget.refusal("http://127.0.0.1:9999/", ANY, true)).isEmpty();
    assertThat(WebhookTarget.refusal("http://localhost:9999/", List.of("example.com"), true))
        .isEmpty();
    assertThat(WebhookTarget.refusal("http://hooks.example.com/", ANY, true))
        .contains("must be https (http only to localhost)");
    assertThat(WebhookTarget.refusal("ftp://hooks.example.com/", ANY, false))
        .contains("must be https");
  }

  @Test
  void literalPrivateAndLinkLocalAddressesAreRefused() {
    assertThat(WebhookTarget.refusal("https://169.254.169.254/latest/meta-data", ANY, true))
        .hasValueSatisfying(r -> assertThat(r).contains("link-local address 169.254.169.254"));
    assertThat(WebhookTarget.refusal("https://10.0.0.1/", ANY, true))
        .hasValueSatisfying(r -> assertThat(r).contains("private address 10.0.0.1"));
    assertThat(WebhookTarget.refusal("https://[fd00::1]/", ANY, true))
        .hasValueSatisfying(r -> assertThat(r).contains("unique local"));
    assertThat(WebhookTarget.refusal("https://[::ffff:169.254.169.254]/", ANY, true))
        .hasValueSatisfying(r -> assertThat(r).contains("link-local"));
    assertThat(WebhookTarget.refusal("https://[64:ff9b::a9fe:a9fe]/", ANY, true))
        .hasValueSatisfying(r -> assertThat(r).contains("link-local address 169.254.169.254"));
    assertThat(WebhookTarget.refusal("https://[2002:a00:1::1]/", ANY, true))
        .hasValueSatisfying(r -> assertThat(r).contains("private address 10.0.0.1"));
    assertThat(WebhookTarget.refusal("https://127.0.0.1/", ANY, false))
        .hasValueSatisfying(r -> assertThat(r).contains("loopback"));
  }

  @Test
  void malformedUrlsAreRefusedWithAReason() {
    assertThat(WebhookTarget.refusal("https://user:pw@hooks.example.com/", ANY, false))
        .contains("must not carry user info");
    assertThat(WebhookTarget.refusal("https://hooks.example.com/#frag", ANY, false))
        .contains("must not have a fragment");
    assertThat(WebhookTarget.refusal("/relative", ANY, false))
        .contains("must be an absolute URL with a host");
    assertThat(WebhookTarget.refusal("https://exa mple.com/", ANY, false))
        .hasValueSatisfying(r -> assertThat(r).startsWith("is not a valid URL"));
    assertThat(WebhookTarget.refusal("https://e.com/" + "a".repeat(2048), ANY, false)).isPresent();
  }

  @Test
  void theAllowListTakesNamesAndSubdomainPatterns() {
    List<String> list = List.of("hooks.example.com", "*.example.org");
    assertThat(WebhookTarget.refusal("https://HOOKS.example.com/", list, false)).isEmpty();
    assertThat(WebhookTarget.refusal("https://a.b.example.org/", list, false)).isEmpty();
    assertThat(WebhookTarget.refusal("https://example.org/", list, false))
        .contains("host 'example.org' is not on the webhook allow-list");
    assertThat(WebhookTarget.refusal("https://evilexample.org/", list, false)).isPresent();
    assertThat(WebhookTarget.refusal("https://hooks.example.com.evil.net/", list, false))
        .isPresent();
  }
}
