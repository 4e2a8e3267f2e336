package dev.inferpipe.core.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inferpipe.core.config.KafkaSettings;
import dev.inferpipe.embedded.EmbeddedKafka;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.api.OpenTelemetry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The worker poll loop against a real broker: a record Kafka failed on is handled again; a
 * record the handler itself fails on goes to the poison handler and is committed.
 */
class RecordLoopIT {
  private static final String TOPIC = "loop-test";

  @Test
  void aRecordWhoseResultsCouldNotBeSentIsHandledAgainAndAPoisonRecordIsSetAside(@TempDir Path dir)
      throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.create(dir, 0).start()) {
      try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
        admin.createTopics(List.of(new NewTopic(TOPIC, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
      }
      try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(
          Map.of("bootstrap.servers", kafka.bootstrapServers()), new StringSerializer(),
          new ByteArraySerializer())) {
        for (int i = 0; i < 5; i++) {
          producer.send(new ProducerRecord<>(TOPIC, "k" + i,
              Integer.toString(i).getBytes(StandardCharsets.UTF_8))).get();
        }
      }

      List<String> handled = new CopyOnWriteArrayList<>();
      AtomicBoolean failedOnce = new AtomicBoolean();
      List<String> poisoned = new CopyOnWriteArrayList<>();
      KafkaClients clients = new KafkaClients(KafkaSettings.plaintext(kafka.bootstrapServers()),
          "loop-test", OpenTelemetry.noop(), new SimpleMeterRegistry());
      RecordLoop loop = new RecordLoop("loop-test", clients.consumer("test", Map.of(
          ConsumerConfig.GROUP_ID_CONFIG, "loop-test", ConsumerConfig.AUTO_OFFSET_RESET_CONFIG,
          "earliest", ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5)), TOPIC, () -> { }, record -> {
            String value = new String(record.value(), StandardCharsets.UTF_8);
            handled.add(value);
            if (value.equals("2") && failedOnce.compareAndSet(false, true)) {
              throw new SendFailedException("broker unreachable (injected)", null);
            }
            if (value.equals("3")) {
              // What a poison header did before: an exception outside any handler.
              throw new ArithmeticException("long overflow (injected)");
            }
          }, (record, failure) -> poisoned.add(
              new String(record.value(), StandardCharsets.UTF_8) + ":" + failure.getMessage()));
      loop.start();
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (handled.size() < 6 && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      boolean aliveAfterPoison = loop.isAlive() && loop.isReady();
      loop.close();

      // Record 2 again, then the rest of the batch in order; nothing skipped, nothing lost.
      assertThat(handled).containsExactly("0", "1", "2", "2", "3", "4");
      assertThat(loop.failures()).isEqualTo(1);
      // Record 3 broke the handler: it went to the poison handler once and the loop lived on.
      assertThat(poisoned).containsExactly("3:long overflow (injected)");
      assertThat(loop.poisoned()).isEqualTo(1);
      assertThat(aliveAfterPoison).isTrue();
      try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
        Map<TopicPartition, OffsetAndMetadata> committed = admin
            .listConsumerGroupOffsets("loop-test").partitionsToOffsetAndMetadata()
            .get(30, TimeUnit.SECONDS);
        assertThat(committed.get(new TopicPartition(TOPIC, 0)).offset()).isEqualTo(5);
      }
      clients.close();
    }
  }
}
