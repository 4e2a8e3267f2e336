package dev.inferpipe.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

class EmbeddedServicesIT {
  @TempDir Path dir;

  @Test
  void brokerKeepsRecordsAcrossARestartOnTheSamePort() throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.create(dir.resolve("kafka"), 0).start()) {
      try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
        admin.createTopics(List.of(new NewTopic("t", 2, (short) 1))).all().get();
      }
      produce(kafka, "before");
      int port = kafka.port();
      kafka.stop();
      assertThat(kafka.isRunning()).isFalse();
      kafka.start();
      assertThat(kafka.port()).isEqualTo(port);
      produce(kafka, "after");
      assertThat(readAll(kafka)).containsExactlyInAnyOrder("before", "after");
    }
  }

  private static void produce(EmbeddedKafka kafka, String value) throws Exception {
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(Map.of(
        "bootstrap.servers", kafka.bootstrapServers(), "acks", "all"),
        new StringSerializer(), new StringSerializer())) {
      producer.send(new ProducerRecord<>("t", "k", value)).get();
    }
  }

  private static List<String> readAll(EmbeddedKafka kafka) {
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(Map.of(
        "bootstrap.servers", kafka.bootstrapServers()),
        new StringDeserializer(), new StringDeserializer())) {
      Set<TopicPartition> partitions = Set.of(new TopicPartition("t", 0), new TopicPartition("t", 1));
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      List<String> values = new ArrayList<>();
      long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      while (values.size() < 2 && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
          values.add(r.value());
        }
      }
      return values;
    }
  }

  @Test
  void s3ServerStoresObjectsOnDiskWithSigV4() {
    try (EmbeddedS3 s3 = EmbeddedS3.onDisk(dir.resolve("s3"), 0).start()) {
      s3.createBucket("outputs");
      s3.createBucket("outputs"); // idempotent
      try (S3Client client = s3.client()) {
        client.putObject(b -> b.bucket("outputs").key("outputs/j1/answer.json")
            .contentType("application/json"), RequestBody.fromString("{\"answer\":\"red\"}"));
        String body = client.getObjectAsBytes(b -> b.bucket("outputs").key("outputs/j1/answer.json"))
            .asString(StandardCharsets.UTF_8);
        assertThat(body).isEqualTo("{\"answer\":\"red\"}");
      }
      assertThat(dir.resolve("s3").resolve("outputs")).isDirectory();
    }
  }
}
