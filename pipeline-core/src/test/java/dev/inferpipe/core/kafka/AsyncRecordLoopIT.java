package dev.inferpipe.core.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inferpipe.core.config.KafkaSettings;
import dev.inferpipe.embedded.EmbeddedKafka;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.api.OpenTelemetry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The out-of-order poll loop against a real broker: commits stop at the first record not done,
 * the partitions pause at the in-memory bound, and a revoked partition's records are abandoned
 * and run by the new owner.
 */
class AsyncRecordLoopIT {
  private static final String TOPIC = "async-loop-test";
  private EmbeddedKafka kafka;
  private KafkaClients clients;
  private final List<AsyncRecordLoop> loops = new ArrayList<>();

  @BeforeEach
  void start(@TempDir Path dir) throws Exception {
    kafka = EmbeddedKafka.create(dir, 0).start();
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
      admin.createTopics(List.of(new NewTopic(TOPIC, 2, (short) 1))).all().get(30, TimeUnit.SECONDS);
    }
    clients = new KafkaClients(KafkaSettings.plaintext(kafka.bootstrapServers()), "async-loop",
        OpenTelemetry.noop(), new SimpleMeterRegistry());
  }

  @AfterEach
  void stop() throws Exception {
    loops.forEach(AsyncRecordLoop::close);
    clients.close();
    kafka.close();
  }

  private void produce(int partition, int count) throws Exception {
    try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(
        Map.of("bootstrap.servers", kafka.bootstrapServers()), new StringSerializer(),
        new ByteArraySerializer())) {
      for (int i = 0; i < count; i++) {
        producer.send(new ProducerRecord<>(TOPIC, partition, "k" + i,
            (partition + ":" + i).getBytes(StandardCharsets.UTF_8))).get();
      }
    }
  }

  private AsyncRecordLoop loop(String name, int maxInFlight, AsyncRecordLoop.Handler handler,
      SimpleMeterRegistry registry) {
    AsyncRecordLoop loop = AsyncRecordLoop.builder(name, clients.consumer(name, Map.of(
            ConsumerConfig.GROUP_ID_CONFIG, "async-loop-test",
            ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
            ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 10,
            ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 6_000,
            ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 1_000)), TOPIC)
        .maxInFlight(maxInFlight)
        .handler(handler, (record, failure) -> { })
        .metrics(registry)
        .build();
    loops.add(loop);
    loop.start();
    return loop;
  }

  private long committed(int partition) throws Exception {
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
      OffsetAndMetadata offset = admin.listConsumerGroupOffsets("async-loop-test")
          .partitionsToOffsetAndMetadata().get(10, TimeUnit.SECONDS)
          .get(new TopicPartition(TOPIC, partition));
      return offset == null ? -1 : offset.offset();
    }
  }

  private static void await(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within 30 s: " + what);
      }
      Thread.sleep(20);
    }
  }

  @Test
  void recordsFinishingOutOfOrderAreCommittedOnlyUpToTheFirstNotDone() throws Exception {
    produce(0, 6);
    Map<String, RecordTicket> held = new ConcurrentHashMap<>();
    loop("a", 100, (record, ticket) -> held.put(new String(record.value(), StandardCharsets.UTF_8),
        ticket), new SimpleMeterRegistry());
    await(() -> held.size() == 6, "all 6 records taken at once");
    for (String done : List.of("0:0", "0:1", "0:3", "0:4", "0:5")) {
      held.get(done).done();
    }
    await(() -> {
      try {
        return committed(0) == 2;
      } catch (Exception e) {
        return false;
      }
    }, "the commit to stop below 0:2");
    Thread.sleep(500);
    assertThat(committed(0)).as("0:3..0:5 done, but 0:2 is not").isEqualTo(2);
    held.get("0:2").done();
    await(() -> {
      try {
        return committed(0) == 6;
      } catch (Exception e) {
        return false;
      }
    }, "the commit to move past every record");
  }

  @Test
  void partitionsPauseAtTheBoundAndResumeBelowIt() throws Exception {
    produce(0, 10);
    produce(1, 10);
    List<RecordTicket> held = new CopyOnWriteArrayList<>();
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    loop("a", 4, (record, ticket) -> held.add(ticket), registry);
    await(() -> held.size() >= 4, "4 records in hand");
    Thread.sleep(1000);
    // One poll may bring a few past the bound; no further polls while paused.
    int taken = held.size();
    assertThat(taken).isLessThan(20);
    assertThat(registry.get("inference.partitions.paused").gauge().value()).isEqualTo(2.0);
    Thread.sleep(500);
    assertThat(held).hasSize(taken);
    held.forEach(RecordTicket::done);
    await(() -> held.size() > taken, "resumed below the bound");
    await(() -> {
      held.forEach(RecordTicket::done);
      return held.size() == 20;
    }, "all 20 records, 4 at a time");
  }

  @Test
  void aRevokedPartitionsRecordsAreAbandonedAndRunByTheNewOwner() throws Exception {
    produce(0, 3);
    produce(1, 3);
    Set<String> revoked = ConcurrentHashMap.newKeySet();
    List<String> firstTook = new CopyOnWriteArrayList<>();
    List<RecordTicket> firstHeld = new CopyOnWriteArrayList<>();
    // The first consumer never finishes anything: everything it holds is in flight.
    loop("first", 100, (record, ticket) -> {
      String value = new String(record.value(), StandardCharsets.UTF_8);
      firstTook.add(value);
      firstHeld.add(ticket);
      ticket.onRevoke(() -> revoked.add(value));
    }, new SimpleMeterRegistry());
    await(() -> firstTook.size() == 6, "the first consumer holds all 6");
    List<String> secondTook = new CopyOnWriteArrayList<>();
    loop("second", 100, (record, ticket) -> {
      secondTook.add(new String(record.value(), StandardCharsets.UTF_8));
      ticket.done();
    }, new SimpleMeterRegistry());
    await(() -> secondTook.size() >= 3, "the second consumer to get a partition's 3 records");
    // Whatever moved was revoked at the first consumer first (its jobs abandoned), and nothing
    // of it was committed there: the second ran all of it from the start.
    assertThat(revoked).isNotEmpty().containsAll(secondTook);
    assertThat(secondTook).allSatisfy(v -> assertThat(v).startsWith(secondTook.get(0)
        .substring(0, 2)));
    assertThat(secondTook).hasSize(3);
    // What a stopping scheduler does with jobs it will not finish: the loop stops waiting.
    firstHeld.forEach(RecordTicket::release);
  }
}
