package dev.inferpipe.core.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inferpipe.core.config.KafkaSettings;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.api.OpenTelemetry;
import java.time.Duration;
import java.util.Map;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.junit.jupiter.api.Test;

/** Runs against an address nothing listens on: no broker is needed to create and close clients. */
class KafkaClientsTest {
  private static final KafkaSettings UNREACHABLE = KafkaSettings.plaintext("127.0.0.1:1");
  private static final int CYCLES = 20;

  private static long threadsNamed(String prefix) {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.isAlive() && t.getName().startsWith(prefix)).count();
  }

  /** Threads stop shortly after close (an executor's shutdownNow does not wait for them). */
  private static void awaitThreads(String prefix, long expected) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (threadsNamed(prefix) > expected && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertThat(threadsNamed(prefix)).as("live threads named %s*", prefix).isEqualTo(expected);
  }

  @Test
  void closingEachProducerRemovesItsMetersAndThreads() throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    long networkThreads = threadsNamed("kafka-producer-network-thread");
    long binderThreads = threadsNamed("micrometer-kafka-metrics");
    try (KafkaClients clients = new KafkaClients(UNREACHABLE, "leak-test", OpenTelemetry.noop(),
        registry)) {
      for (int i = 0; i < CYCLES; i++) {
        Producer<String, byte[]> producer = clients.producer("api",
            Map.of(ProducerConfig.MAX_BLOCK_MS_CONFIG, 100));
        assertThat(registry.getMeters()).isNotEmpty();
        assertThat(producer.metrics()).isNotEmpty(); // calls still reach the client
        if (i % 2 == 0) {
          producer.close(Duration.ZERO); // what JobPublisher does after a failed submission
        } else {
          producer.close();
        }
      }
      assertThat(registry.getMeters()).isEmpty();
      awaitThreads("kafka-producer-network-thread", networkThreads);
      awaitThreads("micrometer-kafka-metrics", binderThreads);
    }
  }

  @Test
  void closingEachConsumerRemovesItsMetersAndThreads() throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    long binderThreads = threadsNamed("micrometer-kafka-metrics");
    try (KafkaClients clients = new KafkaClients(UNREACHABLE, "leak-test", OpenTelemetry.noop(),
        registry)) {
      for (int i = 0; i < CYCLES; i++) {
        Consumer<String, byte[]> consumer = clients.consumer("status-store", Map.of());
        assertThat(registry.getMeters()).isNotEmpty();
        consumer.close();
      }
      assertThat(registry.getMeters()).isEmpty();
      awaitThreads("micrometer-kafka-metrics", binderThreads);
    }
  }

  @Test
  void clientsStillOpenAreUnboundWhenTheFactoryCloses() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    Producer<String, byte[]> producer;
    try (KafkaClients clients = new KafkaClients(UNREACHABLE, "leak-test", OpenTelemetry.noop(),
        registry)) {
      producer = clients.producer("api", Map.of(ProducerConfig.MAX_BLOCK_MS_CONFIG, 100));
      assertThat(registry.getMeters()).isNotEmpty();
    }
    assertThat(registry.getMeters()).isEmpty();
    producer.close(Duration.ZERO);
  }
}
