package dev.inferpipe.core.kafka;

import dev.inferpipe.core.telemetry.Logging;
import dev.inferpipe.core.worker.Worker;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
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
 * A poll loop whose records finish out of order, on other threads: the handler takes a record and
 * a {@link RecordTicket} and returns at once; the ticket's {@code done} marks the record finished.
 * Offsets are committed per partition up to the highest offset below which every record is done
 * ({@link OffsetTracker}), so delivery stays at-least-once. At {@code maxInFlight} records in
 * hand, every assigned partition is paused, and resumed below it; a rebalance pauses newly
 * assigned partitions too. On revocation the revoked partitions' tickets are revoked (their jobs
 * abandoned, publications under way waited for), what is done is committed, and the rest is left
 * to the partitions' new owner.
 *
 * <p>Failures follow {@link RecordLoop}: a Kafka failure while taking a record rewinds its
 * partition and retries with backoff; any other exception is the record's fault and goes to the
 * poison handler (the DLQ). {@link #close} stops taking records, lets the records in hand finish
 * (the {@code stopping} hook, e.g. a scheduler draining), commits, and leaves the group.
 */
public final class AsyncRecordLoop implements Worker.Loop, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(AsyncRecordLoop.class);
  /** How long a revocation waits for an output already being published. */
  static final Duration REVOKE_WAIT = Duration.ofSeconds(30);
  /** How long {@link #close} waits for the records in hand. */
  static final Duration CLOSE_WAIT = Duration.ofSeconds(90);

  /** Takes a record; must not block on the record's work. */
  public interface Handler {
    void handle(ConsumerRecord<String, byte[]> record, RecordTicket ticket)
        throws InterruptedException;
  }

  private final String service;
  private final Consumer<String, byte[]> consumer;
  private final String topic;
  private final int maxInFlight;
  private final Runnable beforeSubscribe;
  private final Runnable stopping;
  private final Handler handler;
  private final RecordLoop.Poison poison;
  private final OffsetTracker tracker = new OffsetTracker();
  private final Map<TopicPartition, Set<RecordTicket>> tickets = new HashMap<>();
  private final ConcurrentLinkedQueue<RecordTicket> finished = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final AtomicInteger pausedPartitions = new AtomicInteger();
  private final AtomicLong failures = new AtomicLong();
  private final Thread thread;
  private volatile boolean subscribed;
  private volatile boolean diedUnasked;
  private boolean paused;
  /** Tickets given up without being done (abandoned while stopping): never committed. */
  private int released;

  private AsyncRecordLoop(Builder b) {
    this.service = b.service;
    this.consumer = b.consumer;
    this.topic = b.topic;
    this.maxInFlight = b.maxInFlight;
    this.beforeSubscribe = b.beforeSubscribe;
    this.stopping = b.stopping;
    this.handler = b.handler;
    this.poison = b.poison;
    if (b.registry != null) {
      b.registry.gauge("inference.partitions.paused", pausedPartitions);
    }
    this.thread = new Thread(this::run, service + "-loop");
  }

  public static Builder builder(String service, Consumer<String, byte[]> consumer, String topic) {
    return new Builder(service, consumer, topic);
  }

  /** Configuration of a loop; the handler and poison handler are required. */
  public static final class Builder {
    private final String service;
    private final Consumer<String, byte[]> consumer;
    private final String topic;
    private int maxInFlight = 1;
    private Runnable beforeSubscribe = () -> { };
    private Runnable stopping = () -> { };
    private Handler handler;
    private RecordLoop.Poison poison;
    private MeterRegistry registry;

    private Builder(String service, Consumer<String, byte[]> consumer, String topic) {
      this.service = service;
      this.consumer = consumer;
      this.topic = topic;
    }

    /** Records in hand at which the partitions are paused. */
    public Builder maxInFlight(int maxInFlight) {
      this.maxInFlight = maxInFlight;
      return this;
    }

    /** Runs on the loop's thread before subscribing (e.g. preloading models). */
    public Builder beforeSubscribe(Runnable beforeSubscribe) {
      this.beforeSubscribe = beforeSubscribe;
      return this;
    }

    /** Runs when the loop stops, before it waits for the records in hand. */
    public Builder stopping(Runnable stopping) {
      this.stopping = stopping;
      return this;
    }

    public Builder handler(Handler handler, RecordLoop.Poison poison) {
      this.handler = handler;
      this.poison = poison;
      return this;
    }

    /** Where {@code inference.partitions.paused} is registered. */
    public Builder metrics(MeterRegistry registry) {
      this.registry = registry;
      return this;
    }

    public AsyncRecordLoop build() {
      if (handler == null || poison == null) {
        throw new IllegalStateException("a loop needs a handler and a poison handler");
      }
      return new AsyncRecordLoop(this);
    }
  }

  @Override
  public void start() {
    thread.start();
  }

  @Override
  public boolean isReady() {
    return subscribed && running.get();
  }

  @Override
  public boolean isAlive() {
    return !diedUnasked;
  }

  public long failures() {
    return failures.get();
  }

  private void run() {
    Logging.tagThread(service);
    try {
      beforeSubscribe.run();
      consumer.subscribe(List.of(topic), new Rebalance());
      subscribed = true;
      Duration retryWait = RecordLoop.FIRST_RETRY_WAIT;
      while (running.get()) {
        settle();
        ConsumerRecords<String, byte[]> records;
        try {
          records = consumer.poll(tracker.inFlight() > 0 ? Duration.ofMillis(10)
              : Duration.ofMillis(200));
        } catch (WakeupException e) {
          throw e;
        } catch (RecordDeserializationException e) {
          consumer.seek(e.topicPartition(), e.offset() + 1);
          continue;
        } catch (KafkaException e) {
          failures.incrementAndGet();
          log.atWarn().addKeyValue("event", "loop.poll_failed")
              .addKeyValue("retry_in_ms", retryWait.toMillis())
              .log("{} could not poll: {}", service, e.toString());
          Thread.sleep(retryWait.toMillis());
          retryWait = min(retryWait.multipliedBy(2), RecordLoop.MAX_RETRY_WAIT);
          continue;
        }
        if (take(records)) {
          retryWait = RecordLoop.FIRST_RETRY_WAIT;
        } else {
          Thread.sleep(retryWait.toMillis());
          retryWait = min(retryWait.multipliedBy(2), RecordLoop.MAX_RETRY_WAIT);
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
      drainAndClose();
    }
  }

  /**
   * Hands each record to the handler; false when a Kafka failure stopped the batch (the
   * partitions with records not taken are rewound to the first of them).
   */
  private boolean take(ConsumerRecords<String, byte[]> records) throws InterruptedException {
    Map<TopicPartition, Long> rewind = new HashMap<>();
    for (ConsumerRecord<String, byte[]> record : records) {
      TopicPartition partition = new TopicPartition(record.topic(), record.partition());
      if (!rewind.isEmpty()) {
        rewind.putIfAbsent(partition, record.offset());
        continue;
      }
      RecordTicket ticket = new RecordTicket(partition, record.offset(), finished::add);
      tracker.started(partition, record.offset());
      tickets.computeIfAbsent(partition, p -> new HashSet<>()).add(ticket);
      try {
        handleOrPoison(record, ticket);
      } catch (KafkaException | SendFailedException e) {
        failures.incrementAndGet();
        log.atWarn().addKeyValue("event", "loop.retry").addKeyValue("offset", record.offset())
            .log("{} could not take a record; it will be taken again: {}", service, e.toString());
        tickets.get(partition).remove(ticket);
        tracker.forget(partition, record.offset());
        rewind.put(partition, record.offset());
      }
    }
    rewind.forEach((partition, offset) -> {
      if (consumer.assignment().contains(partition)) {
        consumer.seek(partition, offset);
      }
    });
    return rewind.isEmpty();
  }

  private void handleOrPoison(ConsumerRecord<String, byte[]> record, RecordTicket ticket)
      throws InterruptedException {
    try {
      handler.handle(record, ticket);
    } catch (KafkaException | SendFailedException e) {
      throw e;
    } catch (RuntimeException e) {
      log.atError().addKeyValue("event", "record.poison").addKeyValue("offset", record.offset())
          .addKeyValue("partition", record.partition()).setCause(e)
          .log("{} failed on a record; it goes to the DLQ", service);
      try {
        poison.accept(record, e);
      } catch (SendRejectedException refused) {
        log.atError().addKeyValue("event", "record.dropped").addKeyValue("offset", record.offset())
            .log("{} could not dead-letter a record either ({}); skipping it", service,
                refused.getMessage());
      }
      ticket.done();
    }
  }

  /** Applies finished tickets, commits what moved, and pauses or resumes. */
  private void settle() {
    settleFinished();
    commit(tracker.committable());
    if (!paused && tracker.inFlight() >= maxInFlight) {
      consumer.pause(consumer.assignment());
      paused = true;
    } else if (paused && tracker.inFlight() < maxInFlight) {
      consumer.resume(consumer.paused());
      paused = false;
    }
    pausedPartitions.set(consumer.paused().size());
  }

  private void commit(Map<TopicPartition, OffsetAndMetadata> offsets) {
    if (offsets.isEmpty()) {
      return;
    }
    try {
      consumer.commitSync(offsets);
      tracker.committed(offsets);
    } catch (WakeupException e) {
      throw e;
    } catch (KafkaException e) {
      // Retried at the next settle; a revoked partition's new owner starts at the last commit.
      failures.incrementAndGet();
      log.atWarn().addKeyValue("event", "loop.commit_failed")
          .log("{} could not commit {}: {}", service, offsets.keySet(), e.toString());
    }
  }

  private final class Rebalance implements ConsumerRebalanceListener {
    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
      release(partitions, true);
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> partitions) {
      release(partitions, false);
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
      if (paused) {
        consumer.pause(partitions);
      }
    }
  }

  /** Abandons the partitions' records in hand, commits what is done (when still owned), forgets. */
  private void release(Collection<TopicPartition> partitions, boolean owned) {
    if (partitions.isEmpty()) {
      return;
    }
    List<RecordTicket> held = new ArrayList<>();
    for (TopicPartition p : partitions) {
      held.addAll(tickets.getOrDefault(p, Set.of()));
    }
    try {
      for (RecordTicket ticket : held) {
        ticket.revoke(REVOKE_WAIT);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (owned) {
      settleFinished();
      Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>(tracker.committable());
      offsets.keySet().retainAll(partitions);
      commit(offsets);
    }
    if (!held.isEmpty()) {
      log.atInfo().addKeyValue("event", "loop.partitions_released")
          .addKeyValue("partitions", partitions.toString()).addKeyValue("abandoned", held.size())
          .log("{} released {} with {} records in hand", service, partitions, held.size());
    }
    tracker.remove(partitions);
    partitions.forEach(tickets::remove);
  }

  private void settleFinished() {
    for (RecordTicket ticket; (ticket = finished.poll()) != null; ) {
      Set<RecordTicket> open = tickets.get(ticket.partition());
      if (open != null && open.remove(ticket)) {
        if (ticket.isReleased()) {
          released++;
        } else {
          tracker.done(ticket.partition(), ticket.offset());
        }
      }
    }
  }

  /** Lets the records in hand finish, commits them, and leaves the group. */
  private void drainAndClose() {
    try {
      stopping.run();
      long deadline = System.nanoTime() + CLOSE_WAIT.toNanos();
      while (tracker.inFlight() > released && System.nanoTime() < deadline) {
        settleFinished();
        Thread.sleep(10);
      }
      settleFinished();
      try {
        commit(tracker.committable());
      } catch (WakeupException e) {
        commit(tracker.committable()); // the wakeup close() sent found no poll to end
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      log.atWarn().addKeyValue("event", "loop.close_commit_failed")
          .log("{} could not commit while stopping: {}", service, e.toString());
    } finally {
      consumer.close(Duration.ofSeconds(5));
    }
  }

  private static Duration min(Duration a, Duration b) {
    return a.compareTo(b) <= 0 ? a : b;
  }

  @Override
  public void close() {
    running.set(false);
    consumer.wakeup();
    try {
      thread.join(CLOSE_WAIT.plusSeconds(30).toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
