package dev.inferpipe.notifier;

import dev.inferpipe.core.job.JobCodec;
import dev.inferpipe.core.job.JobStatus;
import dev.inferpipe.core.kafka.HeaderNames;
import dev.inferpipe.core.kafka.SendFailedException;
import dev.inferpipe.core.kafka.StatusTable;
import dev.inferpipe.core.webhook.DeliveryTable;
import dev.inferpipe.core.webhook.WebhookDelivery;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The notifier's record handler on the status topic: a terminal status with a webhook starts a
 * delivery. The notification carries the status table's verdict, not the event: a terminal
 * event that lost (it landed after the job's first terminal status) is not what the job ended
 * as. A job that already has a delivery (a redelivered record, a republished winner) starts none.
 */
final class TerminalStatuses {
  private static final Logger log = LoggerFactory.getLogger(TerminalStatuses.class);
  static final Duration READ_BACK_TIMEOUT = Duration.ofSeconds(30);
  private static final int MAX_TRACEPARENT_CHARS = 256;

  private final JobCodec codec;
  private final StatusTable statuses;
  private final DeliveryTable deliveries;
  private final WebhookDispatcher dispatcher;
  private final Clock clock;

  TerminalStatuses(JobCodec codec, StatusTable statuses, DeliveryTable deliveries,
      WebhookDispatcher dispatcher, Clock clock) {
    this.codec = codec;
    this.statuses = statuses;
    this.deliveries = deliveries;
    this.dispatcher = dispatcher;
    this.clock = clock;
  }

  void handle(ConsumerRecord<String, byte[]> record) {
    if (record.key() == null || record.value() == null) {
      return;
    }
    JobStatus event;
    try {
      event = codec.decodeStatus(record.value());
    } catch (RuntimeException e) {
      return; // the status tables skip it too
    }
    if (event.status() == null || !event.status().isTerminal() || event.webhook() == null) {
      return;
    }
    if (!statuses.awaitApplied(record.partition(), record.offset(), READ_BACK_TIMEOUT)) {
      // Not yet read back: retried like a Kafka failure, the record stays uncommitted.
      throw new SendFailedException("the status table has not read offset " + record.offset()
          + " of partition " + record.partition() + " yet", null);
    }
    Optional<JobStatus> verdict = statuses.get(record.key());
    if (verdict.isEmpty() || !verdict.get().status().isTerminal()
        || verdict.get().webhook() == null || deliveries.get(record.key()).isPresent()) {
      return;
    }
    String traceparent = HeaderNames.get(record.headers(), HeaderNames.TRACEPARENT)
        .filter(t -> t.length() <= MAX_TRACEPARENT_CHARS).orElse(null);
    JobStatus ended = verdict.get();
    dispatcher.begin(WebhookDelivery.pending(ended.jobId(), ended.status(), ended.webhook().url(),
        ended.webhook().keyId(), clock.instant(), traceparent));
  }

  /** A record the handler failed on for another reason: logged and skipped (no DLQ for statuses). */
  void poison(ConsumerRecord<String, byte[]> record, RuntimeException failure) {
    log.atWarn().addKeyValue("event", "webhook.status_skipped").addKeyValue("offset", record.offset())
        .setCause(failure).log("skipping a status record the notifier cannot handle");
  }
}
