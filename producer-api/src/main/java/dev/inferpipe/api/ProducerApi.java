package dev.inferpipe.api;

import dev.inferpipe.core.kafka.StatusTable;
import dev.inferpipe.core.config.Env;
import dev.inferpipe.core.job.JobCodec;
import dev.inferpipe.core.job.JobDefaults;
import dev.inferpipe.core.job.JobValidator;
import dev.inferpipe.core.job.Fingerprints;
import dev.inferpipe.core.kafka.KafkaClients;
import dev.inferpipe.core.kafka.RecordSigner;
import dev.inferpipe.core.model.ModelCatalog;
import dev.inferpipe.core.model.ModelSource;
import dev.inferpipe.core.s3.S3Clients;
import dev.inferpipe.core.telemetry.Logging;
import dev.inferpipe.core.telemetry.SpanStore;
import dev.inferpipe.core.telemetry.Scrape;
import dev.inferpipe.core.telemetry.Telemetry;
import dev.inferpipe.core.webhook.DeliveryTable;
import io.javalin.Javalin;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.admin.Admin;

/**
 * producer-api, wired by hand: settings -> Kafka clients -> status store, publisher -> routes ->
 * Javalin. {@link #start} returns a running API; {@link #close} stops it and its Kafka clients.
 */
public final class ProducerApi implements AutoCloseable {
  public static final String SERVICE_NAME = "producer-api";

  private final Javalin server;
  private final StatusTable store;
  private final DeliveryTable deliveries;
  private final JobPublisher publisher;
  private final ResultLinks links;
  private final Admin admin;
  private final KafkaClients kafka;

  private ProducerApi(Javalin server, StatusTable store, DeliveryTable deliveries,
      JobPublisher publisher, ResultLinks links, Admin admin, KafkaClients kafka) {
    this.deliveries = deliveries;
    this.server = server;
    this.store = store;
    this.publisher = publisher;
    this.links = links;
    this.admin = admin;
    this.kafka = kafka;
  }

  public static ProducerApi start(Env env, Telemetry telemetry) {
    return start(env, telemetry, Optional.empty());
  }

  /**
   * @param spanStore when present (the local stack), {@code GET /v1/jobs/{id}/trace} serves the
   *     job's spans from it
   */
  public static ProducerApi start(Env env, Telemetry telemetry, Optional<SpanStore> spanStore) {
    ApiSettings settings = ApiSettings.from(env);
    JobCodec codec = new JobCodec();
    S3Clients s3Clients = new S3Clients(settings.s3(), env);
    ModelCatalog models = ModelCatalog.load(settings.models(),
        ModelSource.of(settings.modelUri(), s3Clients::client), codec);
    KafkaClients kafka = new KafkaClients(settings.kafka(), SERVICE_NAME + "-" + telemetry.instanceId(),
        telemetry.openTelemetry(), telemetry.meterRegistry());
    Admin admin = kafka.admin(Map.of());
    StatusTable store = new StatusTable(SERVICE_NAME, kafka, settings.topics().status(), codec);
    DeliveryTable deliveries = new DeliveryTable(SERVICE_NAME, kafka, settings.topics().webhooks(),
        codec);
    JobPublisher publisher = new JobPublisher(kafka, settings.topics(),
        SERVICE_NAME + "-" + telemetry.instanceId(), settings.publishTimeout(),
        new RecordSigner(settings.keys().signingKey()));
    Fingerprints fingerprints = new Fingerprints(settings.keys().hashKey());
    ResultLinks links = new ResultLinks(s3Clients.presigner(),
        settings.s3().bucket(), settings.s3().presignTtl());
    JobSubmitter submitter = new JobSubmitter(new JobValidator(codec, models, fingerprints),
        new JobDefaults(new SecureRandom()::nextLong), codec, publisher, store, settings.s3(),
        Clock.systemUTC(), fingerprints, new WebhookRules(settings.webhooks()));
    JobRoutes routes = new JobRoutes(submitter, store, links, settings.maxBodyBytes(),
        telemetry.meterRegistry(), spanStore,
        settings.apiKeysFile().map(file -> ApiKeys.load(file, codec)),
        new RateLimiter(System::nanoTime), deliveries);
    KafkaHealth kafkaHealth = new KafkaHealth(admin);
    HttpTracing tracing = new HttpTracing(telemetry.openTelemetry(), telemetry.meterRegistry(),
        routes::admit, settings.continuesClientTrace());
    telemetry.meterRegistry().gauge("inference.status.store.jobs", store, StatusTable::size);
    java.util.function.BooleanSupplier storeReady = () -> store.isCaughtUp() && store.isHealthy();
    io.micrometer.core.instrument.Gauge.builder("inference.worker.ready", () ->
            storeReady.getAsBoolean() && kafkaHealth.isReachable() ? 1 : 0)
        .strongReference(true).register(telemetry.meterRegistry());

    ConsoleAssets console = new ConsoleAssets(settings.traceUrlTemplate());
    Javalin server = Javalin.create(config -> {
      config.jetty.port = settings.port();
      config.http.maxRequestSize = settings.maxBodyBytes();
      config.startup.showJavalinBanner = false;
      config.routes.before(ctx -> Logging.tagThread(SERVICE_NAME));
      config.routes.post("/v1/jobs", tracing.traced("POST", "/v1/jobs", routes::submit));
      config.routes.get("/v1/jobs", tracing.traced("GET", "/v1/jobs", routes::list));
      config.routes.get("/v1/jobs/{id}", tracing.traced("GET", "/v1/jobs/{id}", routes::status));
      config.routes.delete("/v1/jobs/{id}", tracing.traced("DELETE", "/v1/jobs/{id}", routes::cancel));
      config.routes.get("/v1/jobs/{id}/result",
          tracing.traced("GET", "/v1/jobs/{id}/result", routes::result));
      config.routes.get("/v1/jobs/{id}/trace",
          tracing.traced("GET", "/v1/jobs/{id}/trace", routes::trace));
      config.routes.get("/healthz", ctx -> ApiResponses.json(ctx, store.isAlive() ? 200 : 503,
          Map.of("status", store.isAlive() ? "ok" : "status table stopped")));
      config.routes.get("/readyz", ctx -> {
        boolean caughtUp = storeReady.getAsBoolean();
        boolean kafkaUp = kafkaHealth.isReachable();
        ApiResponses.json(ctx, caughtUp && kafkaUp ? 200 : 503, Map.of(
            "ready", caughtUp && kafkaUp, "kafka", kafkaUp, "status_store_caught_up", caughtUp));
      });
      config.routes.get("/metrics", ctx -> {
        Scrape scrape = telemetry.scrape(ctx.header("Accept"));
        ctx.contentType(scrape.contentType()).result(scrape.body());
      });
      config.routes.get("/console", console::page);
      config.routes.get("/console/", console::page);
      config.routes.get("/console/jobs/{id}", console::page);
      config.routes.get("/console/console.js", console::script);
      config.routes.get("/console/console.css", console::style);
      config.routes.get("/console/config.json", console::config);
      config.routes.get("/openapi.yaml", ctx -> ctx.contentType("application/yaml")
          .result(OpenApiDocument.bytes()));
      config.routes.error(404, ctx -> {
        // A route's own 404 is already a JSON error; the router's ("Endpoint ... not found")
        // is plain text: answer that one in the API's error format too.
        String type = ctx.res().getContentType();
        if (ctx.result() == null || type == null || !type.startsWith("application/json")) {
          ApiResponses.error(ctx, 404, ApiError.of("NOT_FOUND", "no route " + ctx.path()));
        }
      });
    });
    store.start();
    deliveries.start();
    server.start();
    return new ProducerApi(server, store, deliveries, publisher, links, admin, kafka);
  }

  /**
   * Every method and path this API answers ({@code "GET /v1/jobs/{id}"}), from Javalin's route
   * table: what the OpenAPI contract check compares with the document.
   */
  List<String> routes() {
    return server.unsafe.internalRouter.allHttpHandlers().stream()
        .map(e -> e.endpoint)
        .filter(e -> e.method.isHttpMethod())
        .map(e -> e.method.name() + " " + e.path)
        .distinct().sorted().toList();
  }

  public int port() {
    return server.port();
  }

  @Override
  public void close() {
    server.stop();
    store.close();
    deliveries.close();
    publisher.close();
    links.close();
    admin.close();
    kafka.close();
  }
}
