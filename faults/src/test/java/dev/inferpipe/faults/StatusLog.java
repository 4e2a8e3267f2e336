package dev.inferpipe.faults;

import dev.inferpipe.core.job.JobCodec;
import dev.inferpipe.core.job.JobState;
import dev.inferpipe.core.job.JobStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Every status event on the status topic, as a user-facing reader sees it ({@code
 * read_committed}), kept in order per job together with when it was seen. Unlike the services'
 * status tables it keeps duplicates: counting terminal events is the point.
 */
final class StatusLog implements AutoCloseable {
  record Event(JobStatus status, Instant seenAt) {}

  private final Map<String, List<Event>> events = new ConcurrentHashMap<>();
  private final KafkaConsumer<String, byte[]> consumer;
  private final JobCodec codec = new JobCodec();
  private final Thread thread;
  private volatile boolean running = true;

  StatusLog(String bootstrapServers, String topic, int partitions) {
    consumer = new KafkaConsumer<>(Map.of(
        ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
        ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
        ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false),
        new StringDeserializer(), new ByteArrayDeserializer());
    List<TopicPartition> assigned = new ArrayList<>();
    for (int p = 0; p < partitions; p++) {
      assigned.add(new TopicPartition(topic, p));
    }
    consumer.assign(assigned);
    consumer.seekToBeginning(assigned);
    thread = new Thread(this::run, "status-log");
    thread.setDaemon(true);
    thread.start();
  }

  private void run() {
    try {
      while (running) {
        for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(100))) {
          if (record.key() != null && record.value() != null) {
            events.computeIfAbsent(record.key(), k -> new CopyOnWriteArrayList<>())
                .add(new Event(codec.decodeStatus(record.value()), Instant.now()));
          }
        }
      }
    } catch (WakeupException e) {
      // closing
    } finally {
      consumer.close();
    }
  }

  List<Event> events(String jobId) {
    return events.getOrDefault(jobId, List.of());
  }

  List<JobState> states(String jobId) {
    return events(jobId).stream().map(e -> e.status().status()).toList();
  }

  long terminalEvents(String jobId) {
    return states(jobId).stream().filter(JobState::isTerminal).count();
  }

  boolean hasState(String jobId, JobState state) {
    return states(jobId).contains(state);
  }

  /** The first terminal event, if any. */
  java.util.Optional<Event> terminal(String jobId) {
    return events(jobId).stream().filter(e -> e.status().status().isTerminal()).findFirst();
  }

  /** Waits until every job has a terminal event; returns when the last of them was seen. */
  Instant awaitTerminal(Collection<String> jobIds, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (jobIds.stream().allMatch(id -> terminal(id).isPresent())) {
        return jobIds.stream().map(id -> terminal(id).get().seenAt()).max(Instant::compareTo)
            .orElseThrow();
      }
      Thread.sleep(50);
    }
    List<String> open = jobIds.stream().filter(id -> terminal(id).isEmpty()).toList();
    throw new AssertionError(open.size() + " of " + jobIds.size()
        + " jobs have no terminal status after " + timeout + ": " + open);
  }

  /** Waits for the first job of {@code jobIds} to reach {@code state}; returns its id. */
  String awaitAny(Collection<String> jobIds, JobState state, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      for (String id : jobIds) {
        if (hasState(id, state)) {
          return id;
        }
      }
      Thread.sleep(10);
    }
    throw new AssertionError("no job reached " + state + " within " + timeout);
  }

  /** Waits until at least {@code count} of {@code jobIds} have a terminal event. */
  void awaitTerminalCount(Collection<String> jobIds, int count, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (jobIds.stream().filter(id -> terminal(id).isPresent()).count() >= count) {
        return;
      }
      Thread.sleep(20);
    }
    throw new AssertionError("fewer than " + count + " jobs ended within " + timeout);
  }

  @Override
  public void close() throws InterruptedException {
    running = false;
    consumer.wakeup();
    thread.join(5000);
  }
}
