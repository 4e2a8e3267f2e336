package dev.inferpipe.core.worker;

import dev.inferpipe.core.config.KafkaSettings;
import dev.inferpipe.core.config.Topics;
import dev.inferpipe.core.http.ManagementServer;
import dev.inferpipe.core.job.JobCodec;
import dev.inferpipe.core.kafka.AckedSender;
import dev.inferpipe.core.kafka.KafkaClients;
import dev.inferpipe.core.kafka.RecordLimits;
import dev.inferpipe.core.kafka.StatusTable;
import dev.inferpipe.core.telemetry.Telemetry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the worker services (gpu-consumer, storage-sink) share: Kafka clients named
 * {@code <service>-<instance>}, one producer whose status writes feed the service's
 * {@link StatusTable} through an {@link AckedSender}, the poll loop, the management server
 * ({@code /readyz}, {@code /healthz}, {@code /metrics}), and the order they start and stop in. A
 * service takes its clients from {@link #clients}, builds its handler and loop on them, and hands
 * the loop back to {@link Clients#serve}.
 */
public final class Worker implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Worker.class);

  /** A poll loop a worker runs ({@code RecordLoop} or {@code AsyncRecordLoop}). */
  public interface Loop {
    void start();

    /** Subscribed and not stopped. */
    boolean isReady();

    /** False once the loop ended without being asked to. */
    boolean isAlive();

    /** Finishes the records in hand, commits, and leaves the group. */
    void close();
  }

  private final Clients clients;
  private final Loop loop;
  private final ManagementServer management;
  private final List<AutoCloseable> afterLoop;
  private final List<AutoCloseable> afterProducer;

  private Worker(Clients clients, Loop loop, ManagementServer management,
      List<AutoCloseable> afterLoop, List<AutoCloseable> afterProducer) {
    this.clients = clients;
    this.loop = loop;
    this.management = management;
    this.afterLoop = afterLoop;
    this.afterProducer = afterProducer;
  }

  /** The clients of service {@code service}; nothing connects until they are used. */
  public static Clients clients(String service, Telemetry telemetry, KafkaSettings settings,
      Topics topics, JobCodec codec, String producerPurpose) {
    return new Clients(service, telemetry, settings, topics, codec, producerPurpose);
  }

  /** A worker's Kafka side: client factory, its producer, status table and sender. */
  public static final class Clients {
    private final String service;
    private final Telemetry telemetry;
    private final KafkaClients kafka;
    private final Producer<String, byte[]> producer;
    private final StatusTable statuses;
    private final AckedSender sender;

    private Clients(String service, Telemetry telemetry, KafkaSettings settings, Topics topics,
        JobCodec codec, String producerPurpose) {
      this.service = service;
      this.telemetry = telemetry;
      this.kafka = new KafkaClients(settings, service + "-" + telemetry.instanceId(),
          telemetry.openTelemetry(), telemetry.meterRegistry());
      this.producer = kafka.producer(producerPurpose, Map.of(
          ProducerConfig.LINGER_MS_CONFIG, 0,
          ProducerConfig.MAX_REQUEST_SIZE_CONFIG, RecordLimits.MAX_RECORD_BYTES));
      this.statuses = new StatusTable(service, kafka, topics.status(), codec);
      this.sender = new AckedSender(producer, topics, codec, statuses::put);
    }

    public KafkaClients kafka() {
      return kafka;
    }

    public StatusTable statuses() {
      return statuses;
    }

    /** Sends statuses, outputs and dead letters; acknowledged statuses reach the table at once. */
    public AckedSender sender() {
      return sender;
    }

    /**
     * A consumer in group {@code groupId} with the workers' settings: start at the earliest
     * offset, a killed pod's partitions move within 10 s (heartbeats run on their own thread, so
     * long records are safe), records up to {@link RecordLimits#MAX_RECORD_BYTES}.
     *
     * @param maxPollInterval the longest a record may keep the loop from polling
     */
    public Consumer<String, byte[]> consumer(String purpose, String groupId, int maxPollRecords,
        Duration maxPollInterval) {
      return kafka.consumer(purpose, Map.of(
          ConsumerConfig.GROUP_ID_CONFIG, groupId,
          ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
          ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10_000,
          ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 3_000,
          ConsumerConfig.MAX_POLL_RECORDS_CONFIG, maxPollRecords,
          ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, RecordLimits.MAX_RECORD_BYTES,
          ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, (int) maxPollInterval.toMillis(),
          // Kafka warns when idle connections may close during a poll interval this long.
          ConsumerConfig.CONNECTIONS_MAX_IDLE_MS_CONFIG,
          (int) maxPollInterval.plusMinutes(1).toMillis()));
    }

    /**
     * Starts the management server and returns the worker; {@link Worker#start} starts the rest.
     *
     * @param ready the service's own readiness, on top of the loop's and the status table's
     * @param problems what {@code /readyz} names while not ready
     * @param afterLoop closed right after the loop stops, in order (e.g. a scheduler)
     * @param afterProducer closed after the producer, in order (e.g. models, an S3 client)
     */
    public Worker serve(Loop loop, int managementPort, BooleanSupplier ready,
        Supplier<Map<String, String>> problems, List<AutoCloseable> afterLoop,
        List<AutoCloseable> afterProducer) {
      ManagementServer management = ManagementServer.start(managementPort, telemetry,
          () -> ready.getAsBoolean() && loop.isReady() && statuses.isHealthy(),
          () -> loop.isAlive() && statuses.isAlive(), problems);
      return new Worker(this, loop, management, List.copyOf(afterLoop), List.copyOf(afterProducer));
    }
  }

  /** Starts reading the status topic, then the loop. */
  public void start() {
    clients.statuses.start();
    loop.start();
  }

  public int managementPort() {
    return management.port();
  }

  public StatusTable statuses() {
    return clients.statuses;
  }

  /**
   * Stops in the one safe order: the loop (records in hand finish and are committed), what
   * depends on it, the status table, the producer (flushing), the rest, the management server,
   * and the Kafka clients.
   */
  @Override
  public void close() {
    loop.close();
    afterLoop.forEach(this::closeQuietly);
    clients.statuses.close();
    clients.producer.close(Duration.ofSeconds(5));
    afterProducer.forEach(this::closeQuietly);
    management.close();
    clients.kafka.close();
  }

  private void closeQuietly(AutoCloseable part) {
    try {
      part.close();
    } catch (Exception e) {
      log.atWarn().addKeyValue("event", "worker.close_failed")
          .log("{} could not close {}: {}", clients.service, part, e.toString());
    }
  }
}
