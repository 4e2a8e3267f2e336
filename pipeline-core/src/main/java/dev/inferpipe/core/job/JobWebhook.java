package dev.inferpipe.core.job;

import java.time.Instant;

/**
 * A job's completion webhook. On the status topic only {@code url} and {@code keyId} are set
 * (where to POST, and whose secret signs it); the API adds the delivery's progress, read from the
 * webhooks topic, when it answers for the job.
 *
 * @param keyId the API key whose webhook secret signs the notification; null for the
 *     deployment's secret (API keys off, or a job published straight onto Kafka)
 * @param lastCode the HTTP status of the last attempt; null before one got an answer
 */
public record JobWebhook(String url, String keyId, WebhookState state, Integer attempts,
    Integer lastCode, String lastError, Instant deliveredAt) {

  public static JobWebhook target(String url, String keyId) {
    return new JobWebhook(url, keyId, null, null, null, null, null);
  }

  /** This target with the progress of its delivery. */
  public JobWebhook withProgress(WebhookState state, int attempts, Integer lastCode,
      String lastError, Instant deliveredAt) {
    return new JobWebhook(url, keyId, state, attempts, lastCode, lastError, deliveredAt);
  }
}
