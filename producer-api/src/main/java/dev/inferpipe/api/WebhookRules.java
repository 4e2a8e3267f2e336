package dev.inferpipe.api;

import dev.inferpipe.core.job.ErrorCode;
import dev.inferpipe.core.job.FieldError;
import dev.inferpipe.core.job.InvalidJobException;
import dev.inferpipe.core.job.Job;
import dev.inferpipe.core.webhook.KeyWebhook;
import dev.inferpipe.core.webhook.WebhookSettings;
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
    if (key.isPresent()) {
      KeyWebhook settings = key.get().webhook();
      String url = job.webhookUrl() != null ? job.webhookUrl()
          : settings == null ? null : settings.defaultUrl();
      if (url == null) {
        return job;
      }
      if (settings == null) {
        throw refused("webhooks are not enabled for API key '" + key.get().id() + "'");
      }
      check(url, settings.allowedHosts());
      return job.withWebhookUrl(url);
    }
    if (job.webhookUrl() == null) {
      return job;
    }
    if (deployment.secret().isEmpty()) {
      throw refused("this deployment has no webhook secret (" + WebhookSettings.SECRET_ENV + ")");
    }
    check(job.webhookUrl(), deployment.allowedHosts());
    return job;
  }

  private void check(String url, List<String> allowedHosts) throws InvalidJobException {
    Optional<String> refusal = WebhookTarget.refusal(url, allowedHosts, deployment.allowLoopback());
    if (refusal.isPresent()) {
      throw refused(refusal.get());
    }
  }

  private static InvalidJobException refused(String message) {
    return new InvalidJobException(ErrorCode.INVALID_JOB,
        List.of(new FieldError("webhook_url", "webhook_not_allowed", message)));
  }
}
