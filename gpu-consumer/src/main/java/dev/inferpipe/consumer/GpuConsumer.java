package dev.inferpipe.consumer;

import ai.djl.Device;
import ai.djl.engine.Engine;
import dev.inferpipe.consumer.model.ModelCache;
import dev.inferpipe.consumer.model.ModelLoader;
import dev.inferpipe.consumer.model.ModelRepository;
import dev.inferpipe.consumer.pipeline.Txt2ImgPipeline;
import dev.inferpipe.consumer.pipeline.VqaPipeline;
import dev.inferpipe.core.config.Env;
import dev.inferpipe.core.http.ManagementServer;
import dev.inferpipe.core.job.JobCodec;
import dev.inferpipe.core.job.JobDefaults;
import dev.inferpipe.core.job.JobValidator;
import dev.inferpipe.consumer.pipeline.S3ImageReader;
import dev.inferpipe.core.job.Fingerprints;
import dev.inferpipe.core.kafka.AckedSender;
import dev.inferpipe.core.kafka.RecordLimits;
import dev.inferpipe.core.kafka.RecordSigner;
import dev.inferpipe.core.kafka.KafkaClients;
import dev.inferpipe.core.kafka.AsyncRecordLoop;
import dev.inferpipe.consumer.batch.BatchScheduler;
import io.opentelemetry.api.trace.Tracer;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import dev.inferpipe.core.kafka.StatusTable;
import dev.inferpipe.core.model.ModelCatalog;
import dev.inferpipe.core.model.ModelSpec;
import dev.inferpipe.core.s3.S3Clients;
import dev.inferpipe.core.telemetry.Telemetry;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * gpu-consumer: a poll loop taking jobs from {@code inference.requests} (in a consumer group, so
 * replicas share partitions), a batch scheduler running them (batched across jobs at step
 * boundaries), and publisher threads writing their outputs and statuses. A record's offset is
 * committed only once every record before it in its partition has its output, status or DLQ
 * record acknowledged (at-least-once; outputs are keyed by job id and seeded, so a redelivered
 * job produces the same output under the same key).
 */
public final class GpuConsumer implements AutoCloseable {
  public static final String SERVICE_NAME = "gpu-consumer";
  private static final Logger log = LoggerFactory.getLogger(GpuConsumer.class);

  private final ConsumerSettings settings;
  private final KafkaClients kafka;
  private final Producer<String, byte[]> producer;
  private final ModelCache models;
  private final StatusTable statuses;
  private static final int PUBLISHER_THREADS = 4;
  private final AsyncRecordLoop loop;
  private final BatchScheduler scheduler;
  private final ExecutorService publisher;
  private final ManagementServer management;
  private final S3Client s3;
  private volatile boolean modelsReady;
  private final Map<String, String> modelProblems = new java.util.concurrent.ConcurrentHashMap<>();

  private GpuConsumer(ConsumerSettings settings, Env env, Telemetry telemetry) {
    this.settings = settings;
    JobCodec codec = new JobCodec();
    this.kafka = new KafkaClients(settings.kafka(), SERVICE_NAME + "-" + telemetry.instanceId(),
        telemetry.openTelemetry(), telemetry.meterRegistry());
    S3Clients s3Clients = new S3Clients(settings.s3(), env);
    this.s3 = s3Clients.client();
    ModelRepository repository = new ModelRepository(settings.modelRoot(), settings.modelCacheDir(),
        () -> s3);
    List<ModelSpec> specs = new java.util.ArrayList<>();
    for (String modelId : settings.models()) {
      try {
        specs.add(repository.spec(modelId));
      } catch (RuntimeException e) {
        // Its jobs are refused as UNKNOWN_MODEL; /readyz says why.
        modelProblems.put("model " + modelId, e.getMessage());
      }
    }
    ModelCatalog catalog = ModelCatalog.of(specs.toArray(ModelSpec[]::new));
    this.models = new ModelCache(repository, new ModelLoader(device(settings.device()),
            telemetry.tracer("dev.inferpipe.consumer")),
        telemetry.tracer("dev.inferpipe.consumer"), telemetry.meterRegistry(),
        settings.modelCacheSize());
    Consumer<String, byte[]> consumer = kafka.consumer("requests", Map.of(
        ConsumerConfig.GROUP_ID_CONFIG, settings.groupId(),
        ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
        // Heartbeats run on their own thread, so long jobs are safe; a killed pod's partitions
        // move to the other replicas within 10 s instead of Kafka's default 45 s.
        ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10_000,
        ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 3_000,
        // The loop never blocks on a job; it takes up to a batch per poll and pauses at the bound.
        ConsumerConfig.MAX_POLL_RECORDS_CONFIG, settings.batch().maxBatchSize(),
        ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, RecordLimits.MAX_RECORD_BYTES,
        // A job may sample for minutes; the group must not evict the consumer meanwhile.
        ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, (int) Duration.ofMinutes(15).toMillis(),
        // Kafka warns when idle connections may close during a poll interval this long.
        ConsumerConfig.CONNECTIONS_MAX_IDLE_MS_CONFIG, (int) Duration.ofMinutes(15).plusMinutes(1).toMillis()));
    this.producer = kafka.producer("results", Map.of(
        ProducerConfig.LINGER_MS_CONFIG, 0,
        ProducerConfig.MAX_REQUEST_SIZE_CONFIG, RecordLimits.MAX_RECORD_BYTES));
    this.statuses = new StatusTable(SERVICE_NAME, kafka, settings.topics().status(), codec);
    Fingerprints fingerprints = new Fingerprints(settings.keys().hashKey());
    S3ImageReader images = new S3ImageReader(s3, settings.vqaImagePrefixes());
    AckedSender sender = new AckedSender(producer, settings.topics(), codec, statuses::put);
    Tracer tracer = telemetry.tracer("dev.inferpipe.consumer");
    this.scheduler = BatchScheduler.builder()
        .settings(settings.batch())
        .models(models::get)
        .pipelines(new Txt2ImgPipeline(tracer, settings.stepTelemetry(), telemetry.meterRegistry()),
            new VqaPipeline(tracer, settings.stepTelemetry(), telemetry.meterRegistry(),
                images::read, settings.vqaBudget(), System::nanoTime))
        .telemetry(tracer, settings.stepTelemetry(), telemetry.meterRegistry())
        .start();
    // Publishing waits on Kafka acknowledgements; a few threads keep the scheduler computing.
    this.publisher = Executors.newFixedThreadPool(PUBLISHER_THREADS, runnable -> {
      Thread thread = new Thread(runnable, "gpu-consumer-publisher");
      thread.setDaemon(true);
      return thread;
    });
    JobProcessor processor = JobProcessor.builder()
        .telemetry(telemetry.openTelemetry(), telemetry.meterRegistry())
        .kafka(sender, settings.topics(), settings.groupId(), statuses)
        .requests(codec, new JobValidator(codec, catalog, fingerprints),
            new JobDefaults(new SecureRandom()::nextLong),
            new RecordSigner(settings.keys().signingKey()), fingerprints,
            new JobAdmission.DirectPublishing(settings.directPublish(), settings.directTenant()))
        .running(scheduler, publisher)
        .s3(settings.s3())
        .build();
    telemetry.meterRegistry().gauge("process.memory.peak.bytes", List.of(), this,
        c -> PeakMemory.peakRssBytes());
    this.loop = AsyncRecordLoop.builder(SERVICE_NAME, consumer, settings.topics().requests())
        .maxInFlight(settings.batch().maxJobsInMemory())
        .beforeSubscribe(this::preloadModels)
        .stopping(() -> scheduler.shutdown(Duration.ofSeconds(60)))
        .handler(processor::process, processor::poison)
        .metrics(telemetry.meterRegistry())
        .build();
    this.management = ManagementServer.start(settings.managementPort(), telemetry,
        () -> modelsReady && loop.isReady() && statuses.isHealthy(),
        () -> loop.isAlive() && statuses.isAlive(), () -> Map.copyOf(modelProblems));
  }

  /** Starts the service: management port first, then model preload and the poll loop. */
  public static GpuConsumer start(Env env, Telemetry telemetry) {
    GpuConsumer service = new GpuConsumer(ConsumerSettings.from(env), env, telemetry);
    service.statuses.start();
    service.loop.start();
    return service;
  }

  public int managementPort() {
    return management.port();
  }

  public boolean isReady() {
    return modelsReady;
  }

  private static Device device(String choice) {
    return switch (choice.toLowerCase(java.util.Locale.ROOT)) {
      case "cpu" -> Device.cpu();
      case "gpu" -> Device.gpu();
      case "auto" -> Engine.getInstance().defaultDevice();
      default -> throw new IllegalArgumentException(
          ConsumerSettings.DEVICE_ENV + " must be auto, cpu or gpu, got '" + choice + "'");
    };
  }

  private void preloadModels() {
    for (String modelId : settings.models()) {
      // A model that cannot load is named by /readyz (503); the others serve, and its jobs
      // fail with INVALID_MODEL (each retries the load, so a fixed model recovers).
      try {
        models.get(modelId);
        modelProblems.remove("model " + modelId);
      } catch (RuntimeException e) {
        modelProblems.put("model " + modelId, e.getMessage());
        log.atError().addKeyValue("event", "model.load_failed").addKeyValue("model", modelId)
            .setCause(e).log("model cannot be loaded: {}", e.getMessage());
      }
    }
    // Cancelled and finished jobs must be known before the first job is taken.
    statuses.awaitCaughtUp(Duration.ofSeconds(60));
    if (Thread.currentThread().isInterrupted()) {
      return;
    }
    modelsReady = true;
    log.atInfo().addKeyValue("event", "consumer.ready")
        .addKeyValue("models", settings.models()).log("models loaded; consuming");
  }

  /**
   * Stops taking records, lets the running batch finish and its outputs be published (their
   * offsets are committed; jobs still waiting to join are left to another replica), then leaves
   * the group and stops.
   */
  @Override
  public void close() {
    loop.close();
    scheduler.close();
    publisher.shutdown();
    try {
      publisher.awaitTermination(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    statuses.close();
    producer.close(Duration.ofSeconds(5));
    models.close();
    management.close();
    kafka.close();
    s3.close();
  }
}
