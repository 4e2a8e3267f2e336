package dev.inferpipe.core.webhook;

import dev.inferpipe.core.job.JobCodec;
import dev.inferpipe.core.kafka.KafkaClients;
import dev.inferpipe.core.kafka.TopicReader;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The latest {@link WebhookDelivery} per job, read from every partition of the compacted webhooks
 * topic (no consumer group), like the status table. The notifier rebuilds its state from it after
 * a restart; producer-api shows it on the job. A write of this process's own is visible at once
 * ({@link #put}); the topic's copy replaces it only when it is newer (a higher offset).
 */
public final class DeliveryTable implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(DeliveryTable.class);
  /** Deliveries that ended this long ago are forgotten, as the topic forgets them. */
  static final Duration KEPT = Duration.ofDays(7);

  private record Entry(WebhookDelivery delivery, int partition, long offset) {}

  private final Map<String, Entry> deliveries = new ConcurrentHashMap<>();
  private final JobCodec codec;
  private final TopicReader reader;
  /** When (nanoTime) the reader's thread next forgets old deliveries. */
  private long nextEviction = System.nanoTime();

  public DeliveryTable(String service, KafkaClients kafka, String topic, JobCodec codec) {
    this.codec = codec;
    this.reader = TopicReader.builder().service(service).kafka(kafka, "webhook-table").topic(topic)
        .events("webhook_table").listener(new TopicReader.Listener() {
          @Override
          public void record(ConsumerRecord<String, byte[]> record) {
            read(record);
          }

          @Override
          public void polled() {
            afterPoll();
          }
        }).build();
  }

  public void start() {
    reader.start();
  }

  /** True once every delivery written before this process started has been read. */
  public boolean isCaughtUp() {
    return reader.isCaughtUp();
  }

  /** Reading the topic works (the reader probes the broker, so an outage shows here). */
  public boolean isHealthy() {
    return reader.isHealthy();
  }

  /** Waits until caught up or the timeout passed; returns whether it caught up. */
  public boolean awaitCaughtUp(Duration timeout) throws InterruptedException {
    return reader.awaitCaughtUp(timeout);
  }

  public Optional<WebhookDelivery> get(String jobId) {
    Entry entry = deliveries.get(jobId);
    return entry == null ? Optional.empty() : Optional.of(entry.delivery());
  }

  /** Every delivery still in progress. */
  public List<WebhookDelivery> pending() {
    return deliveries.values().stream().map(Entry::delivery)
        .filter(d -> !d.state().isFinal()).toList();
  }

  /** A delivery this process wrote and Kafka acknowledged at {@code where}. */
  public void put(WebhookDelivery delivery, RecordMetadata where) {
    apply(delivery, where.partition(), where.offset());
  }

  private void apply(WebhookDelivery delivery, int partition, long offset) {
    deliveries.merge(delivery.jobId(), new Entry(delivery, partition, offset),
        (current, incoming) -> current.partition() == incoming.partition()
            && current.offset() >= incoming.offset() ? current : incoming);
  }

  /** After each poll: forget deliveries that ended {@link #KEPT} ago, once a minute. */
  private void afterPoll() {
    if (System.nanoTime() > nextEviction) {
      Instant cutoff = Instant.now().minus(KEPT);
      deliveries.values().removeIf(e -> e.delivery().state().isFinal()
          && e.delivery().updatedAt() != null && e.delivery().updatedAt().isBefore(cutoff));
      nextEviction = System.nanoTime() + Duration.ofMinutes(1).toNanos();
    }
  }

  /** Anyone who can write the topic could write anything: a record that does not decode is skipped. */
  private void read(ConsumerRecord<String, byte[]> record) {
    if (record.key() == null) {
      return;
    }
    if (record.value() == null) {
      deliveries.remove(record.key());
      return;
    }
    try {
      WebhookDelivery delivery = codec.decode(record.value(), WebhookDelivery.class);
      if (delivery == null || !record.key().equals(delivery.jobId()) || delivery.state() == null
          || delivery.status() == null || delivery.createdAt() == null || delivery.attempts() < 0) {
        throw new IllegalArgumentException(
            "job_id (= key), status, state, created_at and attempts >= 0 are required");
      }
      apply(delivery, record.partition(), record.offset());
    } catch (RuntimeException e) {
      log.atWarn().addKeyValue("event", "webhook_table.bad_record").addKeyValue("offset", record.offset())
          .log("skipping an unreadable webhook delivery: {}", e.getMessage());
    }
  }

  @Override
  public void close() {
    reader.close();
  }
}
