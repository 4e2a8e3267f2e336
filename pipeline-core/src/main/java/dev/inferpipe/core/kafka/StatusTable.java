package dev.inferpipe.core.kafka;

import dev.inferpipe.core.job.JobCodec;
import dev.inferpipe.core.job.JobState;
import dev.inferpipe.core.job.JobStatus;
import dev.inferpipe.core.telemetry.Logging;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.stream.Stream;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The latest status of every job, materialised from the compacted status topic. Each reader
 * (every API replica; every consumer, for cancellations) reads every partition (assignment, no
 * consumer group), so any replica can answer for any job, and a restarted one rebuilds the table
 * by reading the topic from the beginning.
 *
 * <p><b>A job's first terminal status is final.</b> Events of one job share a partition, so every
 * reader sees them in one order and applies the same rule: after a terminal event nothing
 * changes the job; a CANCELLED after STORING (the sink has claimed the output) is void; an older
 * stage (QUEUED after RUNNING) is ignored, and so is an event naming another owner (tenant or
 * request hash) than the job's first. An event the rule ignored may still be the job's last
 * record on the topic, which is what compaction keeps; {@link #needsRepair} tells its writer to
 * publish the winning snapshot again, so a reader that starts after compaction agrees.
 *
 * <p>Read-your-writes: a status this replica published is visible through {@link #get} at once,
 * as a pending entry beside the topic's; {@link #awaitApplied} waits until the table has read the
 * topic up to a given write, after which {@link #get} is the topic's verdict.
 *
 * <p>The table forgets what the topic forgets: when the status topic deletes as well as compacts
 * ({@code cleanup.policy=compact,delete}), ended jobs whose last update is older than its
 * {@code retention.ms} are dropped (checked every minute), so memory is bounded by the jobs of
 * one retention period, not by every job ever run.
 *
 * <p>A failure to read (the broker gone past the client's timeouts) does not end the table: it
 * retries with backoff and reports {@link #isHealthy() unhealthy} meanwhile, so the service
 * turns not-ready instead of serving frozen statuses.
 */
public final class StatusTable implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(StatusTable.class);
  static final Duration FIRST_RETRY_WAIT = Duration.ofMillis(250);
  static final Duration MAX_RETRY_WAIT = Duration.ofSeconds(5);
  /**
   * How often the reader asks the broker for the end offsets: a poll against an unreachable
   * broker just returns nothing, so without this probe a frozen table would look healthy.
   */
  static final Duration PROBE_EVERY = Duration.ofSeconds(5);
  /** An offset past the log end seen this long after a wait began does not exist (a forged one). */
  static final Duration BEYOND_END_GRACE = Duration.ofMillis(500);

  /** A job as read from the topic: the winning event, and the offset of its last event. */
  private record Entry(JobStatus status, long winnerOffset, long lastOffset) {}

  /** A status this replica published that the table has not read back yet. */
  private record Pending(JobStatus status, int partition, long offset) {}

  private final Map<String, Entry> statuses = new ConcurrentHashMap<>();
  private final Map<String, Pending> pending = new ConcurrentHashMap<>();
  /** Per partition, the offset of the last record applied; read by writers awaiting their own. */
  private final Map<Integer, Long> applied = new ConcurrentHashMap<>();
  /**
   * Notified after each polled batch is applied, so a writer awaiting its own record wakes when
   * the record is read rather than at its next sleep-and-look (which cost ~1 ms per wait).
   */
  private final Object appliedSignal = new Object();
  /** Per partition, the log end the last fetch reported, and when (nanoTime). */
  private final Map<Integer, long[]> logEnd = new ConcurrentHashMap<>();
  private final Consumer<String, byte[]> consumer;
  private final String topic;
  private final JobCodec codec;
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final String service;
  private final Thread thread;
  private final KafkaClients kafka;
  private final Duration evictEvery;
  private volatile Map<TopicPartition, Long> catchUpTarget;
  private volatile boolean caughtUp;
  private volatile boolean healthy = true;
  private volatile boolean started;
  private volatile Optional<Duration> retention = Optional.empty();
  private final io.micrometer.core.instrument.Gauge stalenessGauge;
  /** When (nanoTime) the reader last heard from the broker: fetched records or end offsets. */
  private volatile long reachedNanos = System.nanoTime();

  public StatusTable(String service, KafkaClients kafka, String topic, JobCodec codec) {
    this(service, kafka, topic, codec, Duration.ofMinutes(1));
  }

  StatusTable(String service, KafkaClients kafka, String topic, JobCodec codec,
      Duration evictEvery) {
    this.service = service;
    this.kafka = kafka;
    this.evictEvery = evictEvery;
    this.topic = topic;
    this.codec = codec;
    this.consumer = kafka.consumer("status-store", Map.of(
        ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
        ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 2000));
    this.thread = new Thread(this::run, service + "-status-table");
    thread.setDaemon(true);
    this.stalenessGauge = io.micrometer.core.instrument.Gauge.builder(
        "inference.status.table.staleness", this, table -> table.staleness().toNanos() / 1e9)
        .register(kafka.registry());
  }

  /**
   * How long since the reader last heard from the broker. A healthy table probes every
   * {@link #PROBE_EVERY}, so this stays under ~10 s; more means statuses may be frozen.
   */
  public Duration staleness() {
    return Duration.ofNanos(System.nanoTime() - reachedNanos);
  }

  public void start() {
    started = true;
    thread.start();
  }

  /** True once every status published before this replica started has been read. */
  public boolean isCaughtUp() {
    return caughtUp;
  }

  /** Reading the topic works (or has not failed since it last worked): part of readiness. */
  public boolean isHealthy() {
    return healthy && isAlive();
  }

  /** The reader thread runs (or was never started): part of liveness. */
  public boolean isAlive() {
    return !started || thread.isAlive() || !running.get();
  }

  /**
   * Waits until {@link #isCaughtUp()} (a worker must know which jobs ended before it takes work),
   * or the timeout passed; then the worker goes on and the table keeps catching up.
   */
  public void awaitCaughtUp(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!caughtUp && System.nanoTime() < deadline) {
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /**
   * Waits until the table has read the status topic up to and including {@code where} (a write
   * of this replica's, or an offset a record names). Afterwards {@link #get} holds every event
   * that came before it, so a decision taken then agrees with every other reader's.
   *
   * @return false when the timeout passed first
   */
  public boolean awaitApplied(RecordMetadata where, Duration timeout) {
    return awaitApplied(where.partition(), where.offset(), timeout);
  }

  public boolean awaitApplied(int partition, long offset, Duration timeout) {
    long start = System.nanoTime();
    long deadline = start + timeout.toNanos();
    while (applied.getOrDefault(partition, -1L) < offset) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      long[] end = logEnd.get(partition);
      if (end != null && end[1] > start + BEYOND_END_GRACE.toNanos() && offset >= end[0]) {
        return false; // the log ended before that offset well after we asked: it is not there
      }
      try {
        synchronized (appliedSignal) {
          // Checked under the lock the reader notifies under: no wake-up is missed. The bound
          // lets the deadline and the log-end rule above be looked at again.
          if (applied.getOrDefault(partition, -1L) < offset) {
            appliedSignal.wait(10);
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return true;
  }

  public int size() {
    return (int) jobIds().count();
  }

  public Optional<JobStatus> get(String jobId) {
    // Pending first: the reader thread sets the entry before it drops the pending one.
    Pending mine = pending.get(jobId);
    Entry entry = statuses.get(jobId);
    if (mine == null) {
      return Optional.ofNullable(entry).map(Entry::status);
    }
    if (entry == null || accepts(entry.status(), mine.status())) {
      return Optional.of(mine.status());
    }
    return Optional.of(entry.status());
  }

  /**
   * True when the job's last record on the topic is an event the table ignored (a RUNNING or
   * CANCELLED that lost to an earlier terminal status): compaction would keep that one. The
   * writer of the ignored event then republishes {@code get(jobId)}.
   */
  public boolean needsRepair(String jobId) {
    Entry entry = statuses.get(jobId);
    return entry != null && entry.status().status().isTerminal()
        && entry.lastOffset() != entry.winnerOffset();
  }

  /** How many known jobs match; a scan of the table (fine for per-submission quota checks). */
  public long count(java.util.function.Predicate<JobStatus> filter) {
    return jobIds().map(this::get).flatMap(Optional::stream).filter(filter).count();
  }

  /** The known jobs that match, in no order; a scan of the table (for listings). */
  public List<JobStatus> matching(java.util.function.Predicate<JobStatus> filter) {
    return jobIds().map(this::get).flatMap(Optional::stream).filter(filter).toList();
  }

  /** Every known job id once: the topic's, then pending writes the topic has not shown yet. */
  private Stream<String> jobIds() {
    return Stream.concat(statuses.keySet().stream(),
        pending.keySet().stream().filter(id -> !statuses.containsKey(id)));
  }

  /** Records a status this replica just published, so its own clients read their writes. */
  public void put(JobStatus status, RecordMetadata where) {
    pending.put(status.jobId(), new Pending(status, where.partition(), where.offset()));
  }

  /** Records a status whose place on the topic is unknown: pending until the job's next event. */
  public void put(JobStatus status) {
    pending.put(status.jobId(), new Pending(status, -1, Long.MAX_VALUE));
  }

  /** The transition rule every reader applies; see the class comment. */
  static boolean accepts(JobStatus current, JobStatus incoming) {
    if (current == null) {
      return true;
    }
    if (current.status().isTerminal()) {
      return false;
    }
    // A job's owner is fixed by its first event: no later event may hand it to another tenant
    // or request (every writer carries them forward from the table).
    if (!java.util.Objects.equals(current.tenant(), incoming.tenant())
        || !java.util.Objects.equals(current.requestSha256(), incoming.requestSha256())) {
      return false;
    }
    if (current.status() == JobState.STORING && incoming.status() == JobState.CANCELLED) {
      return false;
    }
    return rank(incoming.status()) >= rank(current.status());
  }

  private static int rank(JobState state) {
    return switch (state) {
      case QUEUED -> 0;
      case RUNNING -> 1;
      case STORING -> 2;
      default -> 3;
    };
  }

  private void run() {
    Logging.tagThread(service);
    Duration retryWait = FIRST_RETRY_WAIT;
    long nextEviction = System.nanoTime() + evictEvery.toNanos();
    long nextProbe = System.nanoTime() + PROBE_EVERY.toNanos();
    boolean assigned = false;
    try {
      while (running.get()) {
        try {
          if (!assigned) {
            List<TopicPartition> partitions = waitForPartitions();
            retention = topicRetention();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            catchUpTarget = new HashMap<>(consumer.endOffsets(partitions));
            reachedNanos = System.nanoTime();
            assigned = true;
          }
          var records = consumer.poll(Duration.ofMillis(200));
          if (!records.isEmpty()) {
            reachedNanos = System.nanoTime();
          }
          for (ConsumerRecord<String, byte[]> record : records) {
            apply(record);
          }
          long now = System.nanoTime();
          for (TopicPartition partition : consumer.assignment()) {
            java.util.OptionalLong lag = consumer.currentLag(partition);
            if (lag.isPresent()) {
              logEnd.put(partition.partition(),
                  new long[] {consumer.position(partition) + lag.getAsLong(), now});
            }
          }
          synchronized (appliedSignal) {
            appliedSignal.notifyAll();
          }
          if (System.nanoTime() > nextProbe) {
            nextProbe = System.nanoTime() + PROBE_EVERY.toNanos();
            consumer.endOffsets(consumer.assignment(), PROBE_EVERY); // throws when unreachable
            reachedNanos = System.nanoTime();
          }
          if (System.nanoTime() > nextEviction) {
            evictExpired();
            nextEviction = System.nanoTime() + evictEvery.toNanos();
          }
          if (!caughtUp) {
            caughtUp = reachedTarget();
            if (caughtUp) {
              log.atInfo().addKeyValue("event", "status_store.caught_up")
                  .addKeyValue("jobs", statuses.size()).log("status store caught up");
            }
          }
          if (!healthy) {
            log.atInfo().addKeyValue("event", "status_store.recovered").log("status store reads again");
          }
          healthy = true;
          retryWait = FIRST_RETRY_WAIT;
        } catch (WakeupException e) {
          throw e;
        } catch (RuntimeException e) {
          healthy = false;
          log.atWarn().addKeyValue("event", "status_store.retry")
              .addKeyValue("retry_in_ms", retryWait.toMillis())
              .log("status store cannot read {}: {}", topic, e.toString());
          Thread.sleep(retryWait.toMillis());
          retryWait = retryWait.multipliedBy(2).compareTo(MAX_RETRY_WAIT) > 0
              ? MAX_RETRY_WAIT : retryWait.multipliedBy(2);
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

  private List<TopicPartition> waitForPartitions() {
    while (running.get()) {
      try {
        var infos = consumer.partitionsFor(topic, Duration.ofSeconds(5));
        if (infos != null && !infos.isEmpty()) {
          return infos.stream().map(i -> new TopicPartition(i.topic(), i.partition())).toList();
        }
      } catch (org.apache.kafka.common.errors.TimeoutException e) {
        log.atWarn().addKeyValue("event", "status_store.waiting")
            .log("status topic {} not reachable yet", topic);
      }
    }
    throw new WakeupException();
  }

  /** The topic's retention when it deletes old records; empty when it keeps them forever. */
  private Optional<Duration> topicRetention() {
    ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
    try (Admin admin = kafka.admin(Map.of())) {
      Config config = admin.describeConfigs(List.of(resource)).all().get(30, TimeUnit.SECONDS)
          .get(resource);
      String policy = config.get(TopicConfig.CLEANUP_POLICY_CONFIG).value();
      long retentionMs = Long.parseLong(config.get(TopicConfig.RETENTION_MS_CONFIG).value());
      if (policy.contains(TopicConfig.CLEANUP_POLICY_DELETE) && retentionMs > 0) {
        return Optional.of(Duration.ofMillis(retentionMs));
      }
      return Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    } catch (ExecutionException | java.util.concurrent.TimeoutException | RuntimeException e) {
      log.atWarn().addKeyValue("event", "status_store.retention_unknown")
          .log("cannot read {}'s retention ({}); keeping every job", topic, e.toString());
      return Optional.empty();
    }
  }

  private boolean expired(JobStatus status, Instant now) {
    return retention.isPresent() && status.status().isTerminal() && status.updatedAt() != null
        && status.updatedAt().isBefore(now.minus(retention.get()));
  }

  private void evictExpired() {
    Instant now = Instant.now();
    int before = statuses.size();
    statuses.values().removeIf(entry -> expired(entry.status(), now));
    pending.values().removeIf(p -> expired(p.status(), now));
    int evicted = before - statuses.size();
    if (evicted > 0) {
      log.atInfo().addKeyValue("event", "status_store.evicted").addKeyValue("jobs", evicted)
          .log("forgot {} jobs that ended more than {} ago", evicted, retention.orElseThrow());
    }
  }

  private boolean reachedTarget() {
    for (Map.Entry<TopicPartition, Long> target : catchUpTarget.entrySet()) {
      if (consumer.position(target.getKey()) < target.getValue()) {
        return false;
      }
    }
    return true;
  }

  private void apply(ConsumerRecord<String, byte[]> record) {
    try {
      applyEvent(record);
    } finally {
      // Only now, after the entry is in place, so a reader never sees neither.
      Pending mine = record.key() == null ? null : pending.get(record.key());
      if (mine != null && (mine.partition() < 0
          || (mine.partition() == record.partition() && mine.offset() <= record.offset()))) {
        pending.remove(record.key(), mine); // the topic now holds it: its verdict is final
      }
      applied.merge(record.partition(), record.offset(), Math::max);
    }
  }

  private void applyEvent(ConsumerRecord<String, byte[]> record) {
    if (record.key() == null) {
      return;
    }
    if (record.value() == null) {
      statuses.remove(record.key()); // tombstone: the job was deleted
      return;
    }
    JobStatus status;
    try {
      status = codec.decodeStatus(record.value());
    } catch (RuntimeException e) {
      // One corrupt event must not stop the table: skip it, loudly.
      log.atWarn().addKeyValue("event", "status_store.bad_record")
          .addKeyValue("job_id", record.key()).addKeyValue("offset", record.offset())
          .log("skipping undecodable status event: {}", e.getMessage());
      return;
    }
    if (!record.key().equals(status.jobId()) || status.status() == null) {
      log.atWarn().addKeyValue("event", "status_store.bad_record")
          .addKeyValue("job_id", record.key()).addKeyValue("offset", record.offset())
          .log("skipping a status event whose job_id is not its key");
      return;
    }
    if (expired(status, Instant.now())) {
      return;
    }
    statuses.compute(record.key(), (id, current) -> {
      if (current == null || accepts(current.status(), status)) {
        return new Entry(status, record.offset(), record.offset());
      }
      if (status.equals(current.status())) {
        return new Entry(status, record.offset(), record.offset()); // the winner, republished
      }
      return new Entry(current.status(), current.winnerOffset(), record.offset());
    });
  }

  @Override
  public void close() {
    kafka.registry().remove(stalenessGauge); // a table opened later reports its own
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
