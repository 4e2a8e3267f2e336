package dev.inferpipe.core.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inferpipe.core.config.KafkaSettings;
import dev.inferpipe.core.config.Topics;
import dev.inferpipe.core.job.JobCodec;
import dev.inferpipe.core.job.JobState;
import dev.inferpipe.core.job.JobStatus;
import dev.inferpipe.core.job.Task;
import dev.inferpipe.embedded.EmbeddedKafka;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.api.OpenTelemetry;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The status table against a real broker and the topic the provisioner creates. */
class StatusTableIT {
  private final JobCodec codec = new JobCodec();
  private final Topics topics = Topics.defaults();

  @Test
  void endedJobsOlderThanTheTopicsRetentionAreForgottenOthersKept(@TempDir Path dir)
      throws Exception {

    try (EmbeddedKafka kafka = EmbeddedKafka.create(dir, 0).start();
        Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
      TopicProvisioner.ensureTopics(admin, topics, 2, (short) 1);
      ConfigResource status = new ConfigResource(ConfigResource.Type.TOPIC, topics.status());
      assertThat(admin.describeConfigs(List.of(status)).all().get(30, TimeUnit.SECONDS)
          .get(status).get("retention.ms").value())
          .isEqualTo(Long.toString(TopicProvisioner.STATUS_RETENTION.toMillis()));
      // One hour instead of seven days, so statuses can be made "old" without waiting.
      admin.incrementalAlterConfigs(Map.of(status, List.of(new AlterConfigOp(
          new ConfigEntry("retention.ms", Long.toString(Duration.ofHours(1).toMillis())),
          AlterConfigOp.OpType.SET)))).all().get(30, TimeUnit.SECONDS);

      Instant now = Instant.now();
      Instant old = now.minus(Duration.ofHours(2));
      try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(
          Map.of("bootstrap.servers", kafka.bootstrapServers()), new StringSerializer(),
          new ByteArraySerializer())) {
        for (JobStatus s : List.of(status("old-done", JobState.SUCCEEDED, old),
            status("old-running", JobState.RUNNING, old),
            status("new-done", JobState.FAILED, now))) {
          producer.send(new ProducerRecord<>(topics.status(), s.jobId(), codec.encode(s)))
              .get();
        }
      }

      KafkaClients clients = new KafkaClients(KafkaSettings.plaintext(kafka.bootstrapServers()),
          "status-test", OpenTelemetry.noop(), new SimpleMeterRegistry());
      try (StatusTable table = new StatusTable("test", clients, topics.status(), codec,
          Duration.ofMillis(200))) {
        table.start();
        table.awaitCaughtUp(Duration.ofSeconds(30));
        assertThat(table.isCaughtUp()).isTrue();
        // Ended two hours ago: not even loaded. Still running: kept whatever its age.
        assertThat(table.get("old-done")).isEmpty();
        assertThat(table.get("old-running")).isPresent();
        assertThat(table.get("new-done")).isPresent();

        // A job this replica wrote itself ages out as well, at the next eviction pass.
        table.put(status("written-old", JobState.CANCELLED, old));
        assertThat(table.get("written-old")).isPresent();
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (table.get("written-old").isPresent() && System.nanoTime() < deadline) {
          Thread.sleep(50);
        }
        assertThat(table.get("written-old")).isEmpty();
        assertThat(table.size()).isEqualTo(2);
      }
      clients.close();
    }
  }

  @Test
  void theFirstTerminalStatusOnTheTopicIsFinalAndItsLoserIsRepaired(@TempDir Path dir)
      throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.create(dir, 0).start();
        Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
      TopicProvisioner.ensureTopics(admin, topics, 2, (short) 1);
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      KafkaClients clients = new KafkaClients(KafkaSettings.plaintext(kafka.bootstrapServers()),
          "status-test", OpenTelemetry.noop(), registry);
      Instant now = Instant.now();
      try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(
              Map.of("bootstrap.servers", kafka.bootstrapServers()), new StringSerializer(),
              new ByteArraySerializer());
          StatusTable table = new StatusTable("test", clients, topics.status(), codec)) {
        table.start();
        table.awaitCaughtUp(Duration.ofSeconds(30));
        AckedSender sender = new AckedSender(producer, topics, codec, table::put);
        // QUEUED -> CANCELLED -> SUCCEEDED (a sink that lost the race) -> RUNNING (a redelivery).
        sender.publishStatus(status("raced", JobState.QUEUED, now));
        sender.publishStatus(status("raced", JobState.CANCELLED, now));
        sender.publishStatus(status("raced", JobState.SUCCEEDED, now));
        var last = sender.publishStatus(status("raced", JobState.RUNNING, now));
        assertThat(table.awaitApplied(last, Duration.ofSeconds(10))).isTrue();
        assertThat(table.get("raced").orElseThrow().status()).isEqualTo(JobState.CANCELLED);
        // The topic's last event for the job lost: compaction would keep it, so it is repaired.
        assertThat(table.needsRepair("raced")).isTrue();
        var repaired = sender.publishStatus(table.get("raced").orElseThrow());
        table.awaitApplied(repaired, Duration.ofSeconds(10));
        assertThat(table.needsRepair("raced")).isFalse();

        // STORING, then a cancel that raced it: the cancel is void, the sink's SUCCEEDED wins.
        sender.publishStatus(status("stored", JobState.RUNNING, now));
        sender.publishStatus(status("stored", JobState.STORING, now));
        var cancel = sender.publishStatus(status("stored", JobState.CANCELLED, now));
        table.awaitApplied(cancel, Duration.ofSeconds(10));
        assertThat(table.get("stored").orElseThrow().status()).isEqualTo(JobState.STORING);
        var done = sender.publishStatus(status("stored", JobState.SUCCEEDED, now));
        table.awaitApplied(done, Duration.ofSeconds(10));
        assertThat(table.get("stored").orElseThrow().status()).isEqualTo(JobState.SUCCEEDED);
        assertThat(table.needsRepair("stored")).isFalse();
      }
      // With the broker gone the table says so (not ready), and recovers when it is back.
      try (StatusTable watching = new StatusTable("test", clients, topics.status(), codec)) {
        watching.start();
        watching.awaitCaughtUp(Duration.ofSeconds(30));
        assertThat(watching.isHealthy()).isTrue();
        kafka.stop();
        long deadline = System.nanoTime() + Duration.ofSeconds(40).toNanos();
        while (watching.isHealthy() && System.nanoTime() < deadline) {
          Thread.sleep(100);
        }
        assertThat(watching.isHealthy()).as("unhealthy while the broker is down").isFalse();
        assertThat(watching.isAlive()).as("still retrying, not dead").isTrue();
        // The staleness gauge (the StatusTableStale alert) counts the time without the broker.
        deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (watching.staleness().compareTo(TopicReader.PROBE_EVERY.multipliedBy(2)) < 0
            && System.nanoTime() < deadline) {
          Thread.sleep(100);
        }
        assertThat(registry.get("inference.status.table.staleness").gauge().value())
            .isGreaterThanOrEqualTo(2.0 * TopicReader.PROBE_EVERY.toSeconds());
        kafka.start();
        deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!watching.isHealthy() && System.nanoTime() < deadline) {
          Thread.sleep(100);
        }
        assertThat(watching.isHealthy()).as("healthy again").isTrue();
        deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (watching.staleness().compareTo(Duration.ofSeconds(6)) > 0
            && System.nanoTime() < deadline) {
          Thread.sleep(100);
        }
        assertThat(registry.get("inference.status.table.staleness").gauge().value())
            .as("fresh again once the broker answers").isLessThan(6);
      }
      // A replica that starts afterwards reads the same verdicts from the topic.
      try (StatusTable fresh = new StatusTable("test", clients, topics.status(), codec)) {
        fresh.start();
        fresh.awaitCaughtUp(Duration.ofSeconds(30));
        assertThat(fresh.get("raced").orElseThrow().status()).isEqualTo(JobState.CANCELLED);
        assertThat(fresh.get("stored").orElseThrow().status()).isEqualTo(JobState.SUCCEEDED);
        assertThat(fresh.isHealthy()).isTrue();
      }
      clients.close();
    }
  }

  private static JobStatus status(String jobId, JobState state, Instant updatedAt) {
    return new JobStatus(jobId, state, Task.TXT2IMG, "tiny-shapes-diffusion", null, null,
        updatedAt, null, state.isTerminal() ? updatedAt : null, null, null, null, null, null,
        updatedAt, null, null);
  }
}
