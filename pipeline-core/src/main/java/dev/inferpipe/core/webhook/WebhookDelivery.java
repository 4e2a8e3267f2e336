package dev.inferpipe.core.webhook;

import dev.inferpipe.core.job.JobState;
import dev.inferpipe.core.job.WebhookState;
import java.time.Instant;

/**
 * One job's webhook delivery, as the notifier keeps it on the compacted webhooks topic (key: the
 * job id). Written when the notifier first sees the job's terminal status, and after every
 * attempt; a restarted notifier reads the topic back, so it neither repeats a delivered
 * notification nor forgets a pending one.
 *
 * @param status the terminal status being notified (the idempotency key is job id + status)
 * @param attempts requests sent so far
 * @param lastCode the last attempt's HTTP status; null when it got no answer
 * @param lastError why the last attempt failed or the target was refused; null after a 2xx
 * @param nextAttemptAt when a PENDING delivery is tried next
 * @param traceparent the terminal status record's trace context, so attempts join the job's trace
 */
public record WebhookDelivery(
    String jobId,
    JobState status,
    String url,
    String keyId,
    WebhookState state,
    int attempts,
    Integer lastCode,
    String lastError,
    Instant createdAt,
    Instant nextAttemptAt,
    Instant deliveredAt,
    Instant updatedAt,
    String traceparent) {

  /** A notification not sent yet, due now. */
  public static WebhookDelivery pending(String jobId, JobState status, String url, String keyId,
      Instant now, String traceparent) {
    return new WebhookDelivery(jobId, status, url, keyId, WebhookState.PENDING, 0, null, null, now,
        now, null, now, traceparent);
  }

  /** The idempotency key receivers deduplicate on: one notification per job and status. */
  public String idempotencyKey() {
    return jobId + ":" + status.name();
  }

  public WebhookDelivery delivered(int code, Instant now) {
    return new WebhookDelivery(jobId, status, url, keyId, WebhookState.DELIVERED, attempts + 1,
        code, null, createdAt, null, now, now, traceparent);
  }

  /** An attempt failed; tried again at {@code next}, or FAILED when {@code next} is null. */
  public WebhookDelivery failed(Integer code, String error, Instant next, Instant now) {
    return new WebhookDelivery(jobId, status, url, keyId,
        next == null ? WebhookState.FAILED : WebhookState.PENDING, attempts + 1, code, error,
        createdAt, next, null, now, traceparent);
  }

  /** The target may not be called: nothing was (or will be) sent. */
  public WebhookDelivery refused(String reason, Instant now) {
    return new WebhookDelivery(jobId, status, url, keyId, WebhookState.REFUSED, attempts, lastCode,
        reason, createdAt, null, null, now, traceparent);
  }
}
