package dev.inferpipe.sink;

import dev.inferpipe.core.config.Env;
import dev.inferpipe.core.http.ManagementServer;
import dev.inferpipe.core.job.JobCodec;
import dev.inferpipe.core.kafka.AckedSender;
import dev.inferpipe.core.kafka.KafkaClients;
import dev.inferpipe.core.s3.S3Clients;
import dev.inferpipe.core.telemetry.Logging;
import dev.inferpipe.core.telemetry.Telemetry;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * storage-sink: consumes {@code inference.outputs}, writes each output and its result.json to
 * S3, publishes the terminal status, and only then commits the record's offset. A crash between
 * the S3 write and the commit redelivers the output, which overwrites the same keys.
 */
public final class StorageSink implements AutoCloseable {
  public static final String SERVICE_NAME = "storage-sink";
  private static final Logger log = LoggerFactory.getLogger(StorageSink.class);

  private final SinkSettings settings;
  private final KafkaClients kafka;
  private final Consumer<String, byte[]> consumer;
  private final Producer<String, byte[]> producer;
  private final S3Client s3;
  private final OutputHandler handler;
  private final ManagementServer management;
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final Thread loop;
  private volatile boolean subscribed;

  private StorageSink(SinkSettings settings, Env env, Telemetry telemetry) {
    this.settings = settings;
    this.kafka = new KafkaClients(settings.kafka(), SERVICE_NAME + "-" + telemetry.instanceId(),
        telemetry.openTelemetry(), telemetry.meterRegistry());
    this.s3 = new S3Clients(settings.s3(), env).client();
    this.consumer = kafka.consumer("outputs", Map.of(
        ConsumerConfig.GROUP_ID_CONFIG, settings.groupId(),
        ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
        ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 10,
        // Retries with backoff while S3 is down must not cost the group membership.
        ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, (int) Duration.ofMinutes(10).toMillis()));
    this.producer = kafka.producer("status", Map.of(ProducerConfig.LINGER_MS_CONFIG, 0,
        ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 8 * 1024 * 1024));
    SecureRandom jitter = new SecureRandom();
    JobCodec codec = new JobCodec();
    ObjectWriter writer = new ObjectWriter(s3, telemetry.tracer("dev.inferpipe.sink"),
        telemetry.meterRegistry(),
        new Backoff(settings.firstBackoff(), settings.maxBackoff(), jitter::nextDouble),
        settings.maxAttempts());
    this.handler = new OutputHandler(telemetry.openTelemetry(), telemetry.meterRegistry(),
        new AckedSender(producer, settings.topics(), codec), writer, settings.s3(),
        settings.groupId(), codec, Clock.systemUTC());
    this.management = ManagementServer.start(settings.managementPort(), telemetry,
        () -> subscribed && running.get());
    this.loop = new Thread(this::run, SERVICE_NAME + "-loop");
  }

  public static StorageSink start(Env env, Telemetry telemetry) {
    StorageSink sink = new StorageSink(SinkSettings.from(env), env, telemetry);
    sink.loop.start();
    return sink;
  }

  public int managementPort() {
    return management.port();
  }

  private void run() {
    Logging.tagThread(SERVICE_NAME);
    try {
      consumer.subscribe(List.of(settings.topics().outputs()));
      subscribed = true;
      while (running.get()) {
        for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(500))) {
          handler.handle(record);
          consumer.commitSync(Map.of(new TopicPartition(record.topic(), record.partition()),
              new OffsetAndMetadata(record.offset() + 1)));
        }
      }
    } catch (WakeupException e) {
      // close() asked the loop to stop.
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      log.atError().addKeyValue("event", "sink.failed").setCause(e).log("poll loop stopped");
      running.set(false);
    } finally {
      consumer.close(Duration.ofSeconds(5));
    }
  }

  @Override
  public void close() {
    running.set(false);
    consumer.wakeup();
    try {
      loop.join(Duration.ofMinutes(1).toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    producer.close(Duration.ofSeconds(5));
    management.close();
    kafka.close();
    s3.close();
  }
}
