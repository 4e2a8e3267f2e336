package dev.inferpipe.api;

import dev.inferpipe.core.job.ErrorCode;
import dev.inferpipe.core.job.FieldError;
import dev.inferpipe.core.job.InvalidJobException;
import dev.inferpipe.core.job.Job;
import dev.inferpipe.core.webhook.KeyWebhook;
import dev.inferpipe.core.webhook.WebhookSettings;
import dev.inferpipe.core.webhook.WebhookSigning;
import dev.inferpipe.core.webhook.WebhookTarget;
import java.util.List;
import java.util.Optional;

/**
 * Which webhook a submission gets: the job's {@code webhook_url}, else the key's default. With
 * keys on, the key must have webhook settings and the host must be on its allow-list; with keys
 * off, the deployment needs a webhook secret and its allow-list applies. A refusal is a 400
 * naming {@code webhook_url}, so a client learns at once, not an hour later.
 */
final class WebhookRules {
  private final WebhookSettings deployment;

  WebhookRules(WebhookSettings deployment) {
    this.deployment = deployment;
  }

  /** The job with its effective webhook URL (possibly none). */
  Job apply(Job job, Optional<ApiKey> key) throws InvalidJobException {
    Optional<KeyWebhook> settings = key.map(ApiKey::webhook);
    String url = job.webhookUrl() != null ? job.webhookUrl()
        : settings.map(KeyWebhook::defaultUrl).orElse(null);
    if (url == null) {
      return job;
    }
    String keyId = key.map(ApiKey::id).orElse(null);
    WebhookSigning signing = WebhookSigning.of(keyId, settings, deployment)
        .orElseThrow(() -> refused(WebhookSigning.missing(keyId)));
    Optional<String> refusal = WebhookTarget.refusal(url, signing.allowedHosts(),
        deployment.allowLoopback());
    if (refusal.isPresent()) {
      throw refused(refusal.get());
    }
    return job.withWebhookUrl(url);
  }

  private static InvalidJobException refused(String message) {
    return new InvalidJobException(ErrorCode.INVALID_JOB,
        List.of(new FieldError("webhook_url", "webhook_not_allowed", message)));
  }
}
