package dev.inferpipe.core.kafka;

import dev.inferpipe.core.telemetry.Logging;
import dev.inferpipe.core.worker.Worker;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RecordDeserializationException;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A worker service's poll loop on its own thread: subscribe, hand each record to the handler,
 * commit that record's offset once the handler returned (at-least-once). {@link #close} lets the
 * record in hand finish, then leaves the group.
 *
 * <p>A failure while handling or committing (the broker down past the client timeouts, a commit
 * refused after a rebalance) does not end the loop: the partition is rewound to the uncommitted
 * record, the loop waits (doubling up to {@link #MAX_RETRY_WAIT}) and polls again. The record is
 * then handled again, by this replica or by the partition's new owner; handlers are idempotent.
 *
 * <p>Any other exception is the record's fault (a bug it triggers, a permanent refusal from
 * Kafka): it goes to the {@link Poison} handler (the DLQ) and is committed, so no record can stop
 * the loop or stall its partition. Only an {@link Error} ends the loop; {@link #isAlive} then
 * turns false, the liveness probe fails and the pod is restarted.
 */
public final class RecordLoop implements Worker.Loop, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RecordLoop.class);
  static final Duration FIRST_RETRY_WAIT = Duration.ofMillis(250);
  static final Duration MAX_RETRY_WAIT = Duration.ofSeconds(5);

  /** Handles one record; returning means everything it produced was acknowledged. */
  public interface Handler {
    void handle(ConsumerRecord<String, byte[]> record) throws InterruptedException;
  }

  /** Takes a record the handler failed on for a reason other than Kafka (dead-letters it). */
  public interface Poison {
    void accept(ConsumerRecord<String, byte[]> record, RuntimeException failure)
        throws InterruptedException;
  }

  private final String service;
  private final Poison poison;
  private final Consumer<String, byte[]> consumer;
  private final String topic;
  private final Runnable beforeSubscribe;
  private final Handler handler;
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final Thread thread;
  private volatile boolean subscribed;
  private volatile boolean diedUnasked;
  private final AtomicLong failures = new AtomicLong();
  private final AtomicLong poisoned = new AtomicLong();

  /**
   * @param beforeSubscribe runs on the loop's thread first (e.g. preloading models), so a
   *     replica joins the group only when it can take work
   */
  public RecordLoop(String service, Consumer<String, byte[]> consumer, String topic,
      Runnable beforeSubscribe, Handler handler, Poison poison) {
    this.service = service;
    this.poison = poison;
    this.consumer = consumer;
    this.topic = topic;
    this.beforeSubscribe = beforeSubscribe;
    this.handler = handler;
    this.thread = new Thread(this::run, service + "-loop");
  }

  @Override
  public void start() {
    thread.start();
  }

  /** Subscribed and not stopped: the service can take work. */
  @Override
  public boolean isReady() {
    return subscribed && running.get();
  }

  /** False once the loop ended without being asked to: the liveness probe's answer. */
  @Override
  public boolean isAlive() {
    return !diedUnasked;
  }

  private void run() {
    Logging.tagThread(service);
    try {
      beforeSubscribe.run();
      consumer.subscribe(List.of(topic));
      subscribed = true;
      Duration retryWait = FIRST_RETRY_WAIT;
      while (running.get()) {
        ConsumerRecords<String, byte[]> records;
        try {
          records = consumer.poll(Duration.ofMillis(500));
        } catch (WakeupException e) {
          throw e;
        } catch (RecordDeserializationException e) {
          // Cannot happen with string keys and byte values; if it does, skip, never stall.
          log.atError().addKeyValue("event", "record.undecodable")
              .addKeyValue("partition", e.topicPartition().partition())
              .addKeyValue("offset", e.offset()).log("{} skips an undecodable record", service);
          consumer.seek(e.topicPartition(), e.offset() + 1);
          continue;
        } catch (KafkaException e) {
          failures.incrementAndGet();
          log.atWarn().addKeyValue("event", "loop.poll_failed")
              .addKeyValue("retry_in_ms", retryWait.toMillis())
              .log("{} could not poll: {}", service, e.toString());
          Thread.sleep(retryWait.toMillis());
          retryWait = min(retryWait.multipliedBy(2), MAX_RETRY_WAIT);
          continue;
        }
        for (ConsumerRecord<String, byte[]> record : records) {
          try {
            handleOrPoison(record);
            consumer.commitSync(Map.of(partition(record),
                new OffsetAndMetadata(record.offset() + 1)));
            retryWait = FIRST_RETRY_WAIT;
          } catch (WakeupException e) {
            throw e;
          } catch (KafkaException | SendFailedException e) {
            // The rest of this batch must wait: rewind to this record and poll again.
            failures.incrementAndGet();
            log.atWarn().addKeyValue("event", "loop.retry").addKeyValue("offset", record.offset())
                .addKeyValue("retry_in_ms", retryWait.toMillis())
                .log("{} could not finish a record; it will be handled again: {}", service,
                    e.toString());
            rewind(record);
            Thread.sleep(retryWait.toMillis());
            retryWait = min(retryWait.multipliedBy(2), MAX_RETRY_WAIT);
            break;
          }
        }
      }
    } catch (WakeupException e) {
      // close() asked the loop to stop.
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException | Error e) {
      diedUnasked = true;
      log.atError().addKeyValue("event", "loop.failed").setCause(e).log("{} poll loop stopped", service);
    } finally {
      if (running.get()) {
        diedUnasked = true;
      }
      running.set(false);
      consumer.close(Duration.ofSeconds(5));
    }
  }

  /**
   * Runs the handler; a failure that is not Kafka's goes to {@link #poison}. If dead-lettering
   * is refused for good too, the record is logged and skipped: a partition never stalls.
   */
  private void handleOrPoison(ConsumerRecord<String, byte[]> record) throws InterruptedException {
    try {
      handler.handle(record);
    } catch (KafkaException | SendFailedException e) {
      throw e;
    } catch (RuntimeException e) {
      poisoned.incrementAndGet();
      log.atError().addKeyValue("event", "record.poison").addKeyValue("offset", record.offset())
          .addKeyValue("partition", record.partition()).setCause(e)
          .log("{} failed on a record; it goes to the DLQ", service);
      try {
        poison.accept(record, e);
      } catch (SendRejectedException refused) {
        log.atError().addKeyValue("event", "record.dropped").addKeyValue("offset", record.offset())
            .addKeyValue("partition", record.partition())
            .log("{} could not dead-letter a record either ({}); skipping it", service,
                refused.getMessage());
      }
    }
  }

  /** Records the handler failed on that went to the poison handler; for metrics and tests. */
  public long poisoned() {
    return poisoned.get();
  }

  /** Failed records so far (each is handled again); exposed for metrics and tests. */
  public long failures() {
    return failures.get();
  }

  private void rewind(ConsumerRecord<String, byte[]> record) {
    TopicPartition partition = partition(record);
    if (consumer.assignment().contains(partition)) {
      consumer.seek(partition, record.offset());
    }
    // Otherwise a rebalance moved the partition away: its new owner starts from the last commit.
  }

  private static TopicPartition partition(ConsumerRecord<String, byte[]> record) {
    return new TopicPartition(record.topic(), record.partition());
  }

  private static Duration min(Duration a, Duration b) {
    return a.compareTo(b) <= 0 ? a : b;
  }

  @Override
  public void close() {
    running.set(false);
    consumer.wakeup();
    try {
      thread.join(Duration.ofMinutes(2).toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
