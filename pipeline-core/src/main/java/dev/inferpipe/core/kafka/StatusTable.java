package dev.inferpipe.core.kafka;

import dev.inferpipe.core.job.JobCodec;
import dev.inferpipe.core.job.JobState;
import dev.inferpipe.core.job.JobStatus;
import dev.inferpipe.core.telemetry.Logging;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
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
 * <p>The table forgets what the topic forgets: when the status topic deletes as well as compacts
 * ({@code cleanup.policy=compact,delete}), ended jobs whose last update is older than its
 * {@code retention.ms} are dropped (checked every minute), so memory is bounded by the jobs of
 * one retention period, not by every job ever run.
 */
public final class StatusTable implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(StatusTable.class);

  private final Map<String, JobStatus> statuses = new ConcurrentHashMap<>();
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
  private volatile Optional<Duration> retention = Optional.empty();

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
  }

  public void start() {
    thread.start();
  }

  /** True once every status published before this replica started has been read. */
  public boolean isCaughtUp() {
    return caughtUp;
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

  public int size() {
    return statuses.size();
  }

  public Optional<JobStatus> get(String jobId) {
    return Optional.ofNullable(statuses.get(jobId));
  }

  /** How many known jobs match; a scan of the table (fine for per-submission quota checks). */
  public long count(java.util.function.Predicate<JobStatus> filter) {
    return statuses.values().stream().filter(filter).count();
  }

  /** Records a status this replica just published, so its own clients read their writes. */
  public void put(JobStatus status) {
    statuses.merge(status.jobId(), status, StatusTable::newer);
  }

  /**
   * Status events of one job share a partition, so they arrive in order; the guard only protects
   * against a replica's own read-your-writes entry racing the topic.
   */
  private static JobStatus newer(JobStatus current, JobStatus incoming) {
    return rank(incoming.status()) >= rank(current.status()) ? incoming : current;
  }

  private static int rank(JobState state) {
    return switch (state) {
      case QUEUED -> 0;
      case RUNNING -> 1;
      default -> 2;
    };
  }

  private void run() {
    Logging.tagThread(service);
    try {
      List<TopicPartition> partitions = waitForPartitions();
      retention = topicRetention();
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      catchUpTarget = new HashMap<>(consumer.endOffsets(partitions));
      long nextEviction = System.nanoTime() + evictEvery.toNanos();
      while (running.get()) {
        for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(200))) {
          apply(record);
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
      }
    } catch (WakeupException e) {
      // close() woke the poll: exit.
    } catch (RuntimeException e) {
      log.atError().addKeyValue("event", "status_store.failed").setCause(e)
          .log("status store stopped");
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
    statuses.values().removeIf(status -> expired(status, now));
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
    if (record.key() == null) {
      return;
    }
    if (record.value() == null) {
      statuses.remove(record.key()); // tombstone: the job was deleted
      return;
    }
    try {
      JobStatus status = codec.decodeStatus(record.value());
      if (!expired(status, Instant.now())) {
        put(status);
      }
    } catch (RuntimeException e) {
      // One corrupt event must not stop the table: skip it, loudly.
      log.atWarn().addKeyValue("event", "status_store.bad_record")
          .addKeyValue("job_id", record.key()).addKeyValue("offset", record.offset())
          .log("skipping undecodable status event: {}", e.getMessage());
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
