package dev.inferpipe.core.webhook;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inferpipe.core.config.KafkaSettings;
import dev.inferpipe.core.config.Topics;
import dev.inferpipe.core.job.JobCodec;
import dev.inferpipe.core.job.JobState;
import dev.inferpipe.core.job.WebhookState;
import dev.inferpipe.core.kafka.KafkaClients;
import dev.inferpipe.core.kafka.TopicProvisioner;
import dev.inferpipe.embedded.EmbeddedKafka;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.api.OpenTelemetry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The webhook delivery table on a real broker: it waits for a topic that does not exist yet,
 * keeps each job's latest delivery, skips what does not decode without stopping, and reports a
 * broker outage (its reader probes the broker, as the status table's does).
 */
class DeliveryTableIT {
  private final JobCodec codec = new JobCodec();
  private final Topics topics = Topics.defaults();

  @Test
  void readsTheTopicOnceItExistsKeepsTheLatestAndReportsAnOutage(@TempDir Path dir)
      throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.create(dir, 0).start();
        Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
      KafkaClients clients = new KafkaClients(KafkaSettings.plaintext(kafka.bootstrapServers()),
          "webhook-test", OpenTelemetry.noop(), new SimpleMeterRegistry());
      try (DeliveryTable table = new DeliveryTable("test", clients, topics.webhooks(), codec)) {
        table.start();
        // No topic yet: the table waits for it, alive and not caught up.
        assertThat(table.awaitCaughtUp(Duration.ofMillis(1500))).isFalse();
        assertThat(table.isCaughtUp()).isFalse();
        assertThat(table.isHealthy()).isTrue();

        TopicProvisioner.ensureTopics(admin, topics, 2, (short) 1);
        Instant now = Instant.now();
        WebhookDelivery first = WebhookDelivery.pending("job-1", JobState.SUCCEEDED,
            "https://hooks.example/a", "k1", now, null);
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(
            Map.of("bootstrap.servers", kafka.bootstrapServers()), new StringSerializer(),
            new ByteArraySerializer())) {
          send(producer, "job-1", codec.encode(first));
          send(producer, "job-1", "{not json".getBytes(StandardCharsets.UTF_8));
          send(producer, "job-1", codec.encode(first.delivered(204, now.plusSeconds(1))));
          send(producer, "job-2", codec.encode(WebhookDelivery.pending("job-2", JobState.FAILED,
              "https://hooks.example/b", "k1", now, null)));
          send(producer, "job-3", codec.encode(WebhookDelivery.pending("job-3", JobState.FAILED,
              "https://hooks.example/c", "k1", now, null)));
          send(producer, "job-3", null); // a tombstone: job-3 was deleted
        }
        await(() -> table.get("job-3").isEmpty() && table.get("job-2").isPresent()
            && table.get("job-1").map(d -> d.state() == WebhookState.DELIVERED).orElse(false),
            Duration.ofSeconds(30));
        assertThat(table.get("job-1").orElseThrow().lastCode()).isEqualTo(204);
        assertThat(table.pending()).extracting(WebhookDelivery::jobId).containsExactly("job-2");
        assertThat(table.get("job-3")).isEmpty();
        // The undecodable record between job-1's two deliveries did not stop the reader.
        assertThat(table.awaitCaughtUp(Duration.ofSeconds(30))).isTrue();
        assertThat(table.isHealthy()).isTrue();

        kafka.stop();
        await(() -> !table.isHealthy(), Duration.ofSeconds(40));
        assertThat(table.isHealthy()).as("unhealthy while the broker is down").isFalse();
        kafka.start();
        await(table::isHealthy, Duration.ofSeconds(60));
        assertThat(table.isHealthy()).as("healthy again").isTrue();
        assertThat(table.get("job-1").orElseThrow().state()).isEqualTo(WebhookState.DELIVERED);
      }
      clients.close();
    }
  }

  private void send(KafkaProducer<String, byte[]> producer, String key, byte[] value)
      throws Exception {
    producer.send(new ProducerRecord<>(topics.webhooks(), key, value)).get();
  }

  private static void await(BooleanSupplier condition, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
  }
}
