package dev.inferpipe.sink;

import dev.inferpipe.core.config.Env;
import dev.inferpipe.core.job.JobCodec;
import dev.inferpipe.core.kafka.RecordLoop;
import dev.inferpipe.core.kafka.StatusTable;
import dev.inferpipe.core.s3.S3Clients;
import dev.inferpipe.core.telemetry.Telemetry;
import dev.inferpipe.core.worker.Worker;
import java.util.List;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import org.apache.kafka.clients.consumer.Consumer;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * storage-sink: consumes {@code inference.outputs}, writes each output and its result.json to
 * S3, publishes the terminal status, and only then commits the record's offset. A crash between
 * the S3 write and the commit redelivers the output, which overwrites the same keys; one after
 * the status was published is recognised from the status topic, so the job ends only once.
 */
public final class StorageSink implements AutoCloseable {
  public static final String SERVICE_NAME = "storage-sink";

  private final Worker worker;

  private StorageSink(SinkSettings settings, Env env, Telemetry telemetry) {
    JobCodec codec = new JobCodec();
    Worker.Clients clients = Worker.clients(SERVICE_NAME, telemetry, settings.kafka(),
        settings.topics(), codec, "status");
    S3Client s3 = new S3Clients(settings.s3(), env).client();
    // One record per poll: while S3 is down one output may retry for minutes, and a batch of
    // them must not cost the group membership.
    Consumer<String, byte[]> consumer = clients.consumer("outputs", settings.groupId(), 1,
        Duration.ofMinutes(10));
    SecureRandom jitter = new SecureRandom();
    ObjectWriter writer = new ObjectWriter(s3, telemetry.tracer("dev.inferpipe.sink"),
        telemetry.meterRegistry(),
        new Backoff(settings.firstBackoff(), settings.maxBackoff(), jitter::nextDouble),
        settings.maxAttempts());
    StatusTable statuses = clients.statuses();
    OutputHandler handler = new OutputHandler(telemetry.openTelemetry(), telemetry.meterRegistry(),
        clients.sender(), writer, settings.s3(), settings.groupId(), codec, Clock.systemUTC(),
        statuses);
    RecordLoop loop = new RecordLoop(SERVICE_NAME, consumer, settings.topics().outputs(),
        () -> statuses.awaitCaughtUp(Duration.ofSeconds(60)), handler::handle, handler::poison);
    this.worker = clients.serve(loop, settings.managementPort(), () -> true, Map::of,
        List.of(writer::close), List.of(s3::close));
  }

  public static StorageSink start(Env env, Telemetry telemetry) {
    StorageSink sink = new StorageSink(SinkSettings.from(env), env, telemetry);
    sink.worker.start();
    return sink;
  }

  public int managementPort() {
    return worker.managementPort();
  }

  /** Finishes the output in hand (its offset is committed), then leaves the group and stops. */
  @Override
  public void close() {
    worker.close();
  }
}
