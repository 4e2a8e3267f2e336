package dev.inferpipe.core.kafka;

import dev.inferpipe.core.telemetry.Logging;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads every partition of a compacted topic from the beginning and then follows it, on its own
 * thread, with no consumer group: the loop under each table that materialises such a topic (job
 * statuses, webhook deliveries). It knows when it has caught up with what the topic held when it
 * started, stays alive through broker outages (retrying with backoff and reporting itself
 * unhealthy meanwhile), and asks the broker for the log end every {@link #PROBE_EVERY}, because a
 * poll against an unreachable broker just returns nothing and a frozen reader would look healthy.
 *
 * <p>Its log lines carry the events {@code <events>.caught_up}, {@code <events>.retry},
 * {@code <events>.recovered} and {@code <events>.waiting}, {@code events} being the builder's
 * name for the table.
 */
public final class TopicReader implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(TopicReader.class);
  /** How often the reader asks the broker for the end offsets (see the class comment). */
  public static final Duration PROBE_EVERY = Duration.ofSeconds(5);
  private static final Duration POLL = Duration.ofMillis(200);

  /** What a table does with what the reader reads; every call is on the reader's thread. */
  public interface Listener {
    /** Once the partitions are assigned, before the first record: e.g. read topic settings. */
    default void assigned(List<TopicPartition> partitions) {}

    /** One record, in offset order within its partition. */
    void record(ConsumerRecord<String, byte[]> record);

    /** After each poll's records were handed over (also when there were none). */
    default void polled() {}
  }

  private final Consumer<String, byte[]> consumer;
  private final String topic;
  private final String events;
  private final String service;
  private final Listener listener;
  private final Thread thread;
  private final AtomicBoolean running = new AtomicBoolean(true);
  /** Per partition, the log end the last fetch reported, and when (nanoTime). */
  private final Map<Integer, long[]> logEnd = new ConcurrentHashMap<>();
  private volatile Map<TopicPartition, Long> catchUpTarget;
  private volatile boolean caughtUp;
  private final Object caughtUpSignal = new Object();
  private volatile boolean healthy = true;
  private volatile boolean started;
  /** When (nanoTime) the reader last heard from the broker: fetched records or end offsets. */
  private volatile long reachedNanos = System.nanoTime();

  private TopicReader(Builder b) {
    this.topic = Objects.requireNonNull(b.topic, "topic");
    this.events = Objects.requireNonNull(b.events, "events");
    this.service = Objects.requireNonNull(b.service, "service");
    this.listener = Objects.requireNonNull(b.listener, "listener");
    this.consumer = b.kafka.consumer(b.clientName, Map.of(
        ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
        ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 2000));
    this.thread = new Thread(this::run, service + "-" + b.clientName + "-reader");
    thread.setDaemon(true);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** A reader's wiring; every part is required. */
  public static final class Builder {
    private String service;
    private KafkaClients kafka;
    private String clientName;
    private String topic;
    private String events;
    private Listener listener;

    /** The service whose table this is: its logs' tag and its thread's prefix. */
    public Builder service(String service) {
      this.service = service;
      return this;
    }

    /** The clients to read with, and the consumer's client name (also the thread's suffix). */
    public Builder kafka(KafkaClients kafka, String clientName) {
      this.kafka = kafka;
      this.clientName = clientName;
      return this;
    }

    public Builder topic(String topic) {
      this.topic = topic;
      return this;
    }

    /** The prefix of the reader's log events, e.g. {@code status_store}. */
    public Builder events(String events) {
      this.events = events;
      return this;
    }

    public Builder listener(Listener listener) {
      this.listener = listener;
      return this;
    }

    /** The reader, not started: {@link TopicReader#start()} starts its thread. */
    public TopicReader build() {
      return new TopicReader(this);
    }
  }

  public void start() {
    started = true;
    thread.start();
  }

  /** True once every record the topic held when the reader was assigned has been read. */
  public boolean isCaughtUp() {
    return caughtUp;
  }

  /**
   * Waits until {@link #isCaughtUp()} or the timeout passed, woken by the reader the moment it
   * catches up.
   *
   * @return whether it caught up
   */
  public boolean awaitCaughtUp(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (caughtUpSignal) {
      while (!caughtUp) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        caughtUpSignal.wait(Math.max(1, left / 1_000_000));
      }
    }
    return true;
  }

  /** Reading works (or has not failed since it last worked), and the thread runs. */
  public boolean isHealthy() {
    return healthy && isAlive();
  }

  /** The thread runs (or was never started, or was closed). */
  public boolean isAlive() {
    return !started || thread.isAlive() || !running.get();
  }

  /** How long since the reader last heard from the broker; a healthy one stays under ~10 s. */
  public Duration staleness() {
    return Duration.ofNanos(System.nanoTime() - reachedNanos);
  }

  /**
   * The partition's log end as the last fetch reported it, and when ({@code {offset, nanoTime}}),
   * or null before the first report.
   */
  public long[] logEnd(int partition) {
    return logEnd.get(partition);
  }

  private void run() {
    Logging.tagThread(service);
    Duration retryWait = RecordLoop.FIRST_RETRY_WAIT;
    long nextProbe = System.nanoTime() + PROBE_EVERY.toNanos();
    boolean assigned = false;
    long read = 0;
    try {
      while (running.get()) {
        try {
          if (!assigned) {
            List<TopicPartition> partitions = waitForPartitions();
            listener.assigned(partitions);
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            catchUpTarget = new HashMap<>(consumer.endOffsets(partitions));
            reachedNanos = System.nanoTime();
            assigned = true;
          }
          ConsumerRecords<String, byte[]> records = consumer.poll(POLL);
          if (!records.isEmpty()) {
            reachedNanos = System.nanoTime();
          }
          for (ConsumerRecord<String, byte[]> record : records) {
            listener.record(record);
          }
          read += records.count();
          long now = System.nanoTime();
          for (TopicPartition partition : consumer.assignment()) {
            OptionalLong lag = consumer.currentLag(partition);
            if (lag.isPresent()) {
              logEnd.put(partition.partition(),
                  new long[] {consumer.position(partition) + lag.getAsLong(), now});
            }
          }
          listener.polled();
          if (System.nanoTime() > nextProbe) {
            nextProbe = System.nanoTime() + PROBE_EVERY.toNanos();
            consumer.endOffsets(consumer.assignment(), PROBE_EVERY); // throws when unreachable
            reachedNanos = System.nanoTime();
          }
          if (!caughtUp && reachedTarget()) {
            synchronized (caughtUpSignal) {
              caughtUp = true;
              caughtUpSignal.notifyAll();
            }
            log.atInfo().addKeyValue("event", events + ".caught_up").addKeyValue("records", read)
                .log("{} caught up with {} ({} records read)", events, topic, read);
          }
          if (!healthy) {
            log.atInfo().addKeyValue("event", events + ".recovered")
                .log("{} reads {} again", events, topic);
          }
          healthy = true;
          retryWait = RecordLoop.FIRST_RETRY_WAIT;
        } catch (WakeupException e) {
          throw e;
        } catch (RuntimeException e) {
          healthy = false;
          log.atWarn().addKeyValue("event", events + ".retry")
              .addKeyValue("retry_in_ms", retryWait.toMillis())
              .log("{} cannot read {}: {}", events, topic, e.toString());
          Thread.sleep(retryWait.toMillis());
          retryWait = retryWait.multipliedBy(2).compareTo(RecordLoop.MAX_RETRY_WAIT) > 0
              ? RecordLoop.MAX_RETRY_WAIT : retryWait.multipliedBy(2);
        }
      }
    } catch (WakeupException e) {
      // close() woke the poll: exit.
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      consumer.close(Duration.ofSeconds(2));
    }
  }

  private List<TopicPartition> waitForPartitions() throws InterruptedException {
    while (running.get()) {
      try {
        var infos = consumer.partitionsFor(topic, Duration.ofSeconds(5));
        if (infos != null && !infos.isEmpty()) {
          return infos.stream().map(i -> new TopicPartition(i.topic(), i.partition())).toList();
        }
        Thread.sleep(500); // not created yet: ask again, not in a tight loop
      } catch (org.apache.kafka.common.errors.TimeoutException e) {
        log.atWarn().addKeyValue("event", events + ".waiting")
            .log("topic {} not reachable yet", topic);
      }
    }
    throw new WakeupException();
  }

  private boolean reachedTarget() {
    for (Map.Entry<TopicPartition, Long> target : catchUpTarget.entrySet()) {
      if (consumer.position(target.getKey()) < target.getValue()) {
        return false;
      }
    }
    return true;
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
