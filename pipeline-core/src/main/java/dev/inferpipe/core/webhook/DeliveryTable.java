package dev.inferpipe.core.webhook;

import dev.inferpipe.core.job.JobCodec;
import dev.inferpipe.core.kafka.KafkaClients;
import dev.inferpipe.core.telemetry.Logging;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
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
  private final Consumer<String, byte[]> consumer;
  private final String topic;
  private final JobCodec codec;
  private final String service;
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final Thread thread;
  private volatile boolean caughtUp;
  private volatile boolean healthy = true;

  public DeliveryTable(String service, KafkaClients kafka, String topic, JobCodec codec) {
    this.service = service;
    this.topic = topic;
    this.codec = codec;
    this.consumer = kafka.consumer("webhook-table", Map.of(
        ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
        ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 2000));
    this.thread = new Thread(this::run, service + "-webhook-table");
    thread.setDaemon(true);
  }

  public void start() {
    thread.start();
  }

  /** True once every delivery written before this process started has been read. */
  public boolean isCaughtUp() {
    return caughtUp;
  }

  public boolean isHealthy() {
    return healthy && (thread.isAlive() || !running.get());
  }

  /** Waits until caught up or the timeout passed; returns whether it caught up. */
  public boolean awaitCaughtUp(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!caughtUp && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    return caughtUp;
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

  private void run() {
    Logging.tagThread(service);
    long retryMs = 250;
    boolean assigned = false;
    Map<TopicPartition, Long> target = Map.of();
    long nextEviction = System.nanoTime();
    try {
      while (running.get()) {
        try {
          if (!assigned) {
            var infos = consumer.partitionsFor(topic, Duration.ofSeconds(5));
            if (infos == null || infos.isEmpty()) {
              Thread.sleep(500);
              continue;
            }
            List<TopicPartition> partitions = infos.stream()
                .map(i -> new TopicPartition(i.topic(), i.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            target = consumer.endOffsets(partitions);
            assigned = true;
          }
          for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(200))) {
            read(record);
          }
          if (!caughtUp) {
            boolean reached = true;
            for (var t : target.entrySet()) {
              reached &= consumer.position(t.getKey()) >= t.getValue();
            }
            if (reached) {
              caughtUp = true;
              log.atInfo().addKeyValue("event", "webhook_table.caught_up")
                  .addKeyValue("deliveries", deliveries.size()).log("webhook table caught up");
            }
          }
          if (System.nanoTime() > nextEviction) {
            Instant cutoff = Instant.now().minus(KEPT);
            deliveries.values().removeIf(e -> e.delivery().state().isFinal()
                && e.delivery().updatedAt() != null && e.delivery().updatedAt().isBefore(cutoff));
            nextEviction = System.nanoTime() + Duration.ofMinutes(1).toNanos();
          }
          healthy = true;
          retryMs = 250;
        } catch (WakeupException e) {
          throw e;
        } catch (RuntimeException e) {
          healthy = false;
          log.atWarn().addKeyValue("event", "webhook_table.retry").addKeyValue("retry_in_ms", retryMs)
              .log("cannot read {}: {}", topic, e.toString());
          Thread.sleep(retryMs);
          retryMs = Math.min(5000, retryMs * 2);
        }
      }
    } catch (WakeupException e) {
      // closing
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      consumer.close(Duration.ofSeconds(2));
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
    running.set(false);
    if (thread.isAlive()) {
      consumer.wakeup();
    }
    try {
      thread.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
