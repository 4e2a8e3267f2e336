package dev.inferpipe.sink;

import dev.inferpipe.core.config.Env;
import dev.inferpipe.core.http.ManagementServer;
import dev.inferpipe.core.job.JobCodec;
import dev.inferpipe.core.kafka.AckedSender;
import dev.inferpipe.core.kafka.KafkaClients;
import dev.inferpipe.core.kafka.RecordLimits;
import dev.inferpipe.core.kafka.RecordLoop;
import dev.inferpipe.core.kafka.StatusTable;
import dev.inferpipe.core.s3.S3Clients;
import dev.inferpipe.core.telemetry.Telemetry;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * storage-sink: consumes {@code inference.outputs}, writes each output and its result.json to
 * S3, publishes the terminal status, and only then commits the record's offset. A crash between
 * the S3 write and the commit redelivers the output, which overwrites the same keys; one after
 * the status was published is recognised from the status topic, so the job ends only once.
 */
public final class StorageSink implements AutoCloseable {
  public static final String SERVICE_NAME = "storage-sink";

  private final KafkaClients kafka;
  private final Producer<String, byte[]> producer;
  private final S3Client s3;
  private final StatusTable statuses;
  private final RecordLoop loop;
  private final ObjectWriter writer;
  private final ManagementServer management;

  private StorageSink(SinkSettings settings, Env env, Telemetry telemetry) {
    this.kafka = new KafkaClients(settings.kafka(), SERVICE_NAME + "-" + telemetry.instanceId(),
        telemetry.openTelemetry(), telemetry.meterRegistry());
    this.s3 = new S3Clients(settings.s3(), env).client();
    Consumer<String, byte[]> consumer = kafka.consumer("outputs", Map.of(
        ConsumerConfig.GROUP_ID_CONFIG, settings.groupId(),
        ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
        // Heartbeats run on their own thread, so long jobs are safe; a killed pod's partitions
        // move to the other replicas within 10 s instead of Kafka's default 45 s.
        ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10_000,
        ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 3_000,
        // One record per poll: while S3 is down one output may retry for minutes, and a batch
        // of them must not cost the group membership.
        ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 1,
        ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, RecordLimits.MAX_RECORD_BYTES,
        ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, (int) Duration.ofMinutes(10).toMillis(),
        // Kafka warns when idle connections may close during a poll interval this long.
        ConsumerConfig.CONNECTIONS_MAX_IDLE_MS_CONFIG, (int) Duration.ofMinutes(10).plusMinutes(1).toMillis()));
    this.producer = kafka.producer("status", Map.of(ProducerConfig.LINGER_MS_CONFIG, 0,
        ProducerConfig.MAX_REQUEST_SIZE_CONFIG, RecordLimits.MAX_RECORD_BYTES));
    SecureRandom jitter = new SecureRandom();
    JobCodec codec = new JobCodec();
    this.writer = new ObjectWriter(s3, telemetry.tracer("dev.inferpipe.sink"),
        telemetry.meterRegistry(),
        new Backoff(settings.firstBackoff(), settings.maxBackoff(), jitter::nextDouble),
        settings.maxAttempts());
    this.statuses = new StatusTable(SERVICE_NAME, kafka, settings.topics().status(), codec);
    OutputHandler handler = new OutputHandler(telemetry.openTelemetry(), telemetry.meterRegistry(),
        new AckedSender(producer, settings.topics(), codec, statuses::put), writer, settings.s3(),
        settings.groupId(), codec, Clock.systemUTC(), statuses);
    this.loop = new RecordLoop(SERVICE_NAME, consumer, settings.topics().outputs(),
        () -> statuses.awaitCaughtUp(Duration.ofSeconds(60)), handler::handle, handler::poison);
    this.management = ManagementServer.start(settings.managementPort(), telemetry,
        () -> loop.isReady() && statuses.isHealthy(), () -> loop.isAlive() && statuses.isAlive());
  }

  public static StorageSink start(Env env, Telemetry telemetry) {
    StorageSink sink = new StorageSink(SinkSettings.from(env), env, telemetry);
    sink.statuses.start();
    sink.loop.start();
    return sink;
  }

  public int managementPort() {
    return management.port();
  }

  /** Finishes the output in hand (its offset is committed), then leaves the group and stops. */
  @Override
  public void close() {
    loop.close();
    writer.close();
    statuses.close();
    producer.close(Duration.ofSeconds(5));
    management.close();
    kafka.close();
    s3.close();
  }
}
