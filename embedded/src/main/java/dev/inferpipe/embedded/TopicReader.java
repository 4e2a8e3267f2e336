package dev.inferpipe.embedded;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/** Reads a topic the way the integration tests check results: from the beginning, committed only. */
public final class TopicReader {
  private TopicReader() {}

  /** Every record of {@code topic} committed before this call. */
  public static List<ConsumerRecord<String, byte[]>> readAll(String bootstrapServers, String topic) {
    try (KafkaConsumer<String, byte[]> reader = consumer(bootstrapServers, Map.of())) {
      List<TopicPartition> partitions = reader.partitionsFor(topic).stream()
          .map(p -> new TopicPartition(topic, p.partition())).toList();
      reader.assign(partitions);
      reader.seekToBeginning(partitions);
      Map<TopicPartition, Long> end = reader.endOffsets(partitions);
      List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();
      long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      while (partitions.stream().anyMatch(p -> reader.position(p) < end.get(p))
          && System.nanoTime() < deadline) {
        reader.poll(Duration.ofMillis(100)).forEach(records::add);
      }
      return records;
    }
  }

  /**
   * Waits until {@code count} records with {@code key} arrived on {@code topic} (or the timeout
   * passed) and returns those seen; the caller asserts how many it needed.
   */
  public static List<ConsumerRecord<String, byte[]>> awaitKey(String bootstrapServers, String topic,
      String key, int count, Duration timeout) {
    try (KafkaConsumer<String, byte[]> reader = consumer(bootstrapServers, Map.of(
        "group.id", "test-reader-" + System.nanoTime(), "auto.offset.reset", "earliest"))) {
      reader.subscribe(List.of(topic));
      List<ConsumerRecord<String, byte[]>> found = new ArrayList<>();
      long deadline = System.nanoTime() + timeout.toNanos();
      while (found.size() < count && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, byte[]> record : reader.poll(Duration.ofMillis(200))) {
          if (key.equals(record.key())) {
            found.add(record);
          }
        }
      }
      return found;
    }
  }

  private static KafkaConsumer<String, byte[]> consumer(String bootstrapServers,
      Map<String, Object> extra) {
    Map<String, Object> props = new java.util.HashMap<>(extra);
    props.put("bootstrap.servers", bootstrapServers);
    props.put("isolation.level", "read_committed");
    return new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer());
  }
}
