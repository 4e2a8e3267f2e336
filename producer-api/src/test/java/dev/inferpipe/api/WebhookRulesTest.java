package dev.inferpipe.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.inferpipe.core.job.FieldError;
import dev.inferpipe.core.job.InvalidJobException;
import dev.inferpipe.core.job.Job;
import dev.inferpipe.core.job.Task;
import dev.inferpipe.core.job.Txt2ImgInput;
import dev.inferpipe.core.webhook.KeyWebhook;
import dev.inferpipe.core.webhook.WebhookSettings;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class WebhookRulesTest {
  private static final String SECRET = "k".repeat(32);
  private static final KeyWebhook HOOKS = new KeyWebhook(SECRET, List.of("hooks.example.com"),
      "https://hooks.example.com/default");

  private static Job job(String webhookUrl) {
    return new Job(null, Task.TXT2IMG, "tiny-shapes-diffusion",
        new Txt2ImgInput("a", null, null, null, null, null, null, null), null, webhookUrl);
  }

  private static ApiKey key(KeyWebhook webhook) {
    return new ApiKey("key-1", "team-a", "0".repeat(64), false, 10, 10, 10, webhook);
  }

  private static WebhookRules rules(Optional<String> secret, List<String> hosts) {
    return new WebhookRules(new WebhookSettings(secret, hosts, false));
  }

  private static void assertRefused(ThrowingJob call, String message) {
    assertThatThrownBy(call::run).isInstanceOfSatisfying(InvalidJobException.class, e -> {
      assertThat(e.fieldErrors()).extracting(FieldError::field, FieldError::reason)
          .containsExactly(org.assertj.core.groups.Tuple.tuple("webhook_url", "webhook_not_allowed"));
      assertThat(e.fieldErrors().get(0).message()).contains(message);
    });
  }

  interface ThrowingJob {
    Job run() throws Exception;
  }

  @Test
  void aKeysDefaultUrlFillsAJobWithoutOne() throws Exception {
    WebhookRules rules = rules(Optional.empty(), List.of());
    assertThat(rules.apply(job(null), Optional.of(key(HOOKS))).webhookUrl())
        .isEqualTo("https://hooks.example.com/default");
    assertThat(rules.apply(job("https://hooks.example.com/mine"), Optional.of(key(HOOKS)))
        .webhookUrl()).isEqualTo("https://hooks.example.com/mine");
    assertThat(rules.apply(job(null), Optional.of(key(null))).webhookUrl()).isNull();
  }

  @Test
  void aKeyKeepsItsJobsToItsAllowList() {
    WebhookRules rules = rules(Optional.of(SECRET), List.of());
    assertRefused(() -> rules.apply(job("https://evil.example.net/x"), Optional.of(key(HOOKS))),
        "host 'evil.example.net' is not on the webhook allow-list");
    assertRefused(() -> rules.apply(job("https://hooks.example.com/x"), Optional.of(key(null))),
        "webhooks are not enabled for API key 'key-1'");
    assertRefused(() -> rules.apply(job("http://hooks.example.com/x"), Optional.of(key(HOOKS))),
        "must be https");
  }

  @Test
  void withoutKeysTheDeploymentSecretAndAllowListDecide() throws Exception {
    assertRefused(() -> rules(Optional.empty(), List.of()).apply(job("https://a.example.com/"),
        Optional.empty()), "no webhook secret");
    WebhookRules open = rules(Optional.of(SECRET), List.of());
    assertThat(open.apply(job("https://a.example.com/"), Optional.empty()).webhookUrl())
        .isEqualTo("https://a.example.com/");
    assertRefused(() -> open.apply(job("https://169.254.169.254/latest"), Optional.empty()),
        "link-local");
    WebhookRules listed = rules(Optional.of(SECRET), List.of("*.example.org"));
    assertThat(listed.apply(job("https://x.example.org/"), Optional.empty()).webhookUrl())
        .isEqualTo("https://x.example.org/");
    assertRefused(() -> listed.apply(job("https://a.example.com/"), Optional.empty()),
        "allow-list");
    assertThat(listed.apply(job(null), Optional.empty()).webhookUrl()).isNull();
  }
}
