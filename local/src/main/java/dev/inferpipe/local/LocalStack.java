package dev.inferpipe.local;

import dev.inferpipe.api.ProducerApi;
import dev.inferpipe.consumer.GpuConsumer;
import dev.inferpipe.sink.StorageSink;
import dev.inferpipe.notifier.WebhookNotifier;
import dev.inferpipe.core.webhook.WebhookSettings;
import dev.inferpipe.core.config.Env;
import dev.inferpipe.core.config.Topics;
import dev.inferpipe.core.kafka.TopicProvisioner;
import dev.inferpipe.core.telemetry.SpanStore;
import dev.inferpipe.core.telemetry.Telemetry;
import dev.inferpipe.embedded.EmbeddedKafka;
import dev.inferpipe.embedded.EmbeddedS3;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;

/**
 * The embedded default: a real KRaft broker and an S3-compatible server, both in this JVM with
 * their data under one directory, the output bucket and topics created, and the services started
 * against them exactly as they would be in Kubernetes (same classes, same environment variables).
 */
public final class LocalStack implements AutoCloseable {
  static final int REQUEST_PARTITIONS = 4;

  private final LocalSettings settings;
  private final Deque<AutoCloseable> started = new ArrayDeque<>();
  /** Every service's finished spans, for the demo's waterfall and GET /v1/jobs/{id}/trace. */
  private final SpanStore spans;
  private EmbeddedKafka kafka;
  private EmbeddedS3 s3;
  private ProducerApi api;
  private GpuConsumer consumer;
  private StorageSink sink;
  private WebhookNotifier notifier;

  LocalStack(LocalSettings settings) {
    this.settings = settings;
    this.spans = new SpanStore(settings.tracesKept());
  }

  public static LocalStack start(Env env) throws InterruptedException {
    LocalStack stack = new LocalStack(LocalSettings.from(env));
    try {
      stack.startAll(env);
      return stack;
    } catch (RuntimeException | InterruptedException e) {
      stack.close();
      throw e;
    }
  }

  private void startAll(Env env) throws InterruptedException {
    kafka = EmbeddedKafka.create(settings.dataDir().resolve("kafka"), settings.kafkaPort()).start();
    started.push(kafka);
    s3 = EmbeddedS3.onDisk(settings.dataDir().resolve("s3"), settings.s3Port()).start();
    started.push(s3);
    s3.createBucket(settings.bucket());
    Env serviceEnv = serviceEnv(env);
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
      TopicProvisioner.ensureTopics(admin, Topics.from(serviceEnv), REQUEST_PARTITIONS, (short) 1);
    }
    Telemetry apiTelemetry = telemetry(ProducerApi.SERVICE_NAME, serviceEnv);
    api = ProducerApi.start(serviceEnv, apiTelemetry, java.util.Optional.of(spans));
    started.push(api);
    consumer = GpuConsumer.start(serviceEnv, telemetry(GpuConsumer.SERVICE_NAME, serviceEnv));
    started.push(consumer);
    sink = StorageSink.start(serviceEnv, telemetry(StorageSink.SERVICE_NAME, serviceEnv));
    started.push(sink);
    notifier = WebhookNotifier.start(serviceEnv,
        telemetry(WebhookNotifier.SERVICE_NAME, serviceEnv));
    started.push(notifier);
  }

  /**
   * What a test stack needs: its data in {@code dataDir}, every port chosen by the system (so
   * stacks never collide), nothing else set. Callers add what they test.
   */
  public static Map<String, String> ephemeralEnv(java.nio.file.Path dataDir) {
    return Map.of(
        "INFERPIPE_DATA_DIR", dataDir.toString(),
        "INFERPIPE_LOCAL_KAFKA_PORT", "0",
        "INFERPIPE_LOCAL_S3_PORT", "0",
        "INFERPIPE_API_PORT", "0",
        "INFERPIPE_CONSUMER_MANAGEMENT_PORT", "0",
        "INFERPIPE_SINK_MANAGEMENT_PORT", "0",
        "INFERPIPE_NOTIFIER_MANAGEMENT_PORT", "0");
  }

  private Telemetry telemetry(String service, Env env) {
    Telemetry telemetry = Telemetry.builder(service).env(env).addSpanProcessor(spans).build();
    started.push(telemetry);
    return telemetry;
  }

  public SpanStore spans() {
    return spans;
  }

  /**
   * What every service is given: the caller's environment plus the addresses and credentials of
   * the embedded broker and S3 server.
   */
  Env serviceEnv(Env env) {
    Map<String, String> wiring = new HashMap<>();
    wiring.put("KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrapServers());
    wiring.putAll(s3.clientEnv());
    wiring.put("INFERPIPE_S3_BUCKET", settings.bucket());
    wiring.put("INFERPIPE_API_PORT", Integer.toString(settings.apiPort()));
    wiring.put("INFERPIPE_CONSUMER_MANAGEMENT_PORT", Integer.toString(settings.consumerPort()));
    wiring.put("INFERPIPE_SINK_MANAGEMENT_PORT", Integer.toString(settings.sinkPort()));
    wiring.put("INFERPIPE_NOTIFIER_MANAGEMENT_PORT", Integer.toString(settings.notifierPort()));
    // Local webhooks may go to a receiver on this machine (http to loopback); nowhere private.
    wiring.put(WebhookSettings.ALLOW_LOOPBACK_ENV,
        env.string(WebhookSettings.ALLOW_LOOPBACK_ENV, "true"));
    if (LocalKeys.NAMES.stream().anyMatch(name -> env.get(name).isEmpty())) {
      Map<String, String> keys = LocalKeys.loadOrCreate(settings.dataDir().resolve("keys.properties"));
      keys.forEach((name, value) -> {
        if (env.get(name).isEmpty()) {
          wiring.put(name, value);
        }
      });
    }
    return env.with(wiring);
  }

  public String apiUrl() {
    return "http://localhost:" + api.port();
  }

  public String consumerManagementUrl() {
    return "http://localhost:" + consumer.managementPort();
  }

  public String sinkManagementUrl() {
    return "http://localhost:" + sink.managementPort();
  }

  public String notifierManagementUrl() {
    return "http://localhost:" + notifier.managementPort();
  }

  /** True once the consumer has loaded its models and polls for jobs. */
  public boolean consumerReady() {
    return consumer.isReady();
  }

  public String kafkaBootstrapServers() {
    return kafka.bootstrapServers();
  }

  /** A client of the embedded S3 server (the caller closes it). */
  public software.amazon.awssdk.services.s3.S3Client s3Client() {
    return s3.client();
  }

  public String s3Endpoint() {
    return s3.endpoint().toString();
  }

  public LocalSettings settings() {
    return settings;
  }

  /** Stops services first, then storage, in reverse start order. */
  @Override
  public void close() {
    while (!started.isEmpty()) {
      try {
        started.pop().close();
      } catch (Exception e) {
        System.err.println("while stopping: " + e);
      }
    }
  }
}
