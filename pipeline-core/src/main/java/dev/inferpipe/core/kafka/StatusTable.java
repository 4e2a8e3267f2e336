package dev.inferpipe.core.kafka;

import dev.inferpipe.core.job.JobCodec;
import dev.inferpipe.core.job.JobState;
import dev.inferpipe.core.job.JobStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
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
  private final TopicReader reader;
  private final String topic;
  private final JobCodec codec;
  private final KafkaClients kafka;
  private final Duration evictEvery;
  /** When (nanoTime) the reader's thread next drops expired jobs. */
  private long nextEviction;
  private volatile Optional<Duration> retention = Optional.empty();
  private final io.micrometer.core.instrument.Gauge stalenessGauge;

  public StatusTable(String service, KafkaClients kafka, String topic, JobCodec codec) {
    this(service, kafka, topic, codec, Duration.ofMinutes(1));
  }

  StatusTable(String service, KafkaClients kafka, String topic, JobCodec codec,
      Duration evictEvery) {
    this.kafka = kafka;
    this.evictEvery = evictEvery;
    this.topic = topic;
    this.codec = codec;
    this.nextEviction = System.nanoTime() + evictEvery.toNanos();
    this.reader = TopicReader.builder().service(service).kafka(kafka, "status-store").topic(topic)
        .events("status_store").listener(new TopicReader.Listener() {
          @Override
          public void assigned(List<TopicPartition> partitions) {
            retention = topicRetention();
          }

          @Override
          public void record(ConsumerRecord<String, byte[]> record) {
            apply(record);
          }

          @Override
          public void polled() {
            afterPoll();
          }
        }).build();
    this.stalenessGauge = io.micrometer.core.instrument.Gauge.builder(
        "inference.status.table.staleness", this, table -> table.staleness().toNanos() / 1e9)
        .register(kafka.registry());
  }

  /**
   * How long since the reader last heard from the broker. A healthy table probes every
   * {@link TopicReader#PROBE_EVERY}, so this stays under ~10 s; more means statuses may be frozen.
   */
  public Duration staleness() {
    return reader.staleness();
  }

  public void start() {
    reader.start();
  }

  /** True once every status published before this replica started has been read. */
  public boolean isCaughtUp() {
    return reader.isCaughtUp();
  }

  /** Reading the topic works (or has not failed since it last worked): part of readiness. */
  public boolean isHealthy() {
    return reader.isHealthy();
  }

  /** The reader thread runs (or was never started): part of liveness. */
  public boolean isAlive() {
    return reader.isAlive();
  }

  /**
   * Waits until {@link #isCaughtUp()} (a worker must know which jobs ended before it takes work),
   * or the timeout passed; then the worker goes on and the table keeps catching up.
   */
  public void awaitCaughtUp(Duration timeout) {
    try {
      reader.awaitCaughtUp(timeout);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
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
      long[] end = reader.logEnd(partition);
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

  /** After each poll: wake the writers awaiting their records, and drop expired jobs. */
  private void afterPoll() {
    synchronized (appliedSignal) {
      appliedSignal.notifyAll();
    }
    if (System.nanoTime() > nextEviction) {
      evictExpired();
      nextEviction = System.nanoTime() + evictEvery.toNanos();
    }
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
    reader.close();
  }
}
