package dev.inferpipe.consumer;

import ai.djl.Device;
import ai.djl.engine.Engine;
import dev.inferpipe.consumer.model.ModelCache;
import dev.inferpipe.consumer.model.ModelLoader;
import dev.inferpipe.consumer.model.Placement;
import dev.inferpipe.consumer.model.ModelRepository;
import dev.inferpipe.consumer.pipeline.Txt2ImgPipeline;
import dev.inferpipe.consumer.pipeline.VqaPipeline;
import dev.inferpipe.core.config.Env;
import dev.inferpipe.core.job.JobCodec;
import dev.inferpipe.core.job.JobDefaults;
import dev.inferpipe.core.job.JobValidator;
import dev.inferpipe.consumer.pipeline.S3ImageReader;
import dev.inferpipe.core.job.Fingerprints;
import dev.inferpipe.core.kafka.AckedSender;
import dev.inferpipe.core.kafka.RecordSigner;
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
import dev.inferpipe.core.worker.Worker;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.Consumer;
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

  private static final int PUBLISHER_THREADS = 4;
  private final ConsumerSettings settings;
  private final ModelCache models;
  private final StatusTable statuses;
  private final Worker worker;
  private volatile boolean modelsReady;
  private final Map<String, String> modelProblems = new java.util.concurrent.ConcurrentHashMap<>();

  private GpuConsumer(ConsumerSettings settings, Env env, Telemetry telemetry) {
    this.settings = settings;
    JobCodec codec = new JobCodec();
    Worker.Clients clients = Worker.clients(SERVICE_NAME, telemetry, settings.kafka(),
        settings.topics(), codec, "results");
    S3Client s3 = new S3Clients(settings.s3(), env).client();
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
    Placement placement = new Placement(device(settings.device()), settings.onnxThreads(),
        settings.torchThreads());
    placement.applyTorchThreads();
    this.models = new ModelCache(repository, new ModelLoader(placement,
            telemetry.tracer("dev.inferpipe.consumer")),
        telemetry.tracer("dev.inferpipe.consumer"), telemetry.meterRegistry(),
        settings.modelCacheSize());
    // The loop never blocks on a job: it takes up to a batch per poll and pauses at the bound.
    Consumer<String, byte[]> consumer = clients.consumer("requests", settings.groupId(),
        settings.batch().maxBatchSize(), Duration.ofMinutes(15));
    this.statuses = clients.statuses();
    AckedSender sender = clients.sender();
    Fingerprints fingerprints = new Fingerprints(settings.keys().hashKey());
    S3ImageReader images = new S3ImageReader(s3, settings.vqaImagePrefixes());
    Tracer tracer = telemetry.tracer("dev.inferpipe.consumer");
    BatchScheduler scheduler = BatchScheduler.builder()
        .settings(settings.batch())
        .models(models::get)
        .pipelines(new Txt2ImgPipeline(tracer, settings.stepTelemetry(), telemetry.meterRegistry()),
            new VqaPipeline(tracer, settings.stepTelemetry(), telemetry.meterRegistry(),
                images::read, settings.vqaBudget(), System::nanoTime))
        .telemetry(tracer, settings.stepTelemetry(), telemetry.meterRegistry())
        .start();
    // Publishing waits on Kafka acknowledgements; a few threads keep the scheduler computing.
    ExecutorService publisher = Executors.newFixedThreadPool(PUBLISHER_THREADS, runnable -> {
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
    AsyncRecordLoop loop = AsyncRecordLoop.builder(SERVICE_NAME, consumer,
            settings.topics().requests())
        .maxInFlight(settings.batch().maxJobsInMemory())
        .beforeSubscribe(this::preloadModels)
        .stopping(() -> scheduler.shutdown(Duration.ofSeconds(60)))
        .handler(processor::process, processor::poison)
        .metrics(telemetry.meterRegistry())
        .build();
    AutoCloseable publishers = () -> {
      publisher.shutdown();
      publisher.awaitTermination(30, TimeUnit.SECONDS);
    };
    this.worker = clients.serve(loop, settings.managementPort(), () -> modelsReady,
        () -> Map.copyOf(modelProblems), List.of(scheduler, publishers), List.of(models, s3));
  }

  /** Starts the service: management port first, then model preload and the poll loop. */
  public static GpuConsumer start(Env env, Telemetry telemetry) {
    GpuConsumer service = new GpuConsumer(ConsumerSettings.from(env), env, telemetry);
    service.worker.start();
    return service;
  }

  public int managementPort() {
    return worker.managementPort();
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
    worker.close();
  }
}
