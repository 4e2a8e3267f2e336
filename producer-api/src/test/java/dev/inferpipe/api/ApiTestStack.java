package dev.inferpipe.api;

import dev.inferpipe.core.config.Env;
import dev.inferpipe.core.config.Topics;
import dev.inferpipe.core.kafka.TopicProvisioner;
import dev.inferpipe.core.telemetry.Telemetry;
import dev.inferpipe.embedded.EmbeddedKafka;
import dev.inferpipe.embedded.EmbeddedS3;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/** A real broker, a real S3 server and a running producer-api, for integration tests. */
final class ApiTestStack implements AutoCloseable {
  static final String BUCKET = "inferpipe-outputs";

  final EmbeddedKafka kafka;
  final EmbeddedS3 s3;
  /** Spans of the current API instance (an exporter stops when its SDK is closed). */
  InMemorySpanExporter spans;
  final Topics topics = Topics.defaults();
  final HttpClient http = HttpClient.newBuilder()
      .followRedirects(HttpClient.Redirect.NEVER).connectTimeout(Duration.ofSeconds(5)).build();
  Telemetry telemetry;
  ProducerApi api;

  private final Map<String, String> extraEnv;
  /** The deployment keys; kept across API restarts, like a Secret. */
  final Map<String, String> keys = dev.inferpipe.core.config.DeploymentKeys.randomEnv();

  ApiTestStack(Path dir) throws InterruptedException {
    this(dir, Map.of());
  }

  ApiTestStack(Path dir, Map<String, String> extraEnv) throws InterruptedException {
    this.extraEnv = extraEnv;
    kafka = EmbeddedKafka.create(dir.resolve("kafka"), 0).start();
    s3 = EmbeddedS3.inMemory().start();
    s3.createBucket(BUCKET);
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
      TopicProvisioner.ensureTopics(admin, topics, 4, (short) 1);
    }
    startApi();
  }

  Env env() {
    Map<String, String> env = new HashMap<>();
    env.put("KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrapServers());
    env.put("INFERPIPE_API_PORT", "0");
    env.put("INFERPIPE_API_PUBLISH_TIMEOUT", "3s");
    env.putAll(s3.clientEnv());
    env.put("INFERPIPE_S3_BUCKET", BUCKET);
    env.putAll(keys);
    env.putAll(extraEnv);
    return Env.of(env);
  }

  void startApi() {
    spans = InMemorySpanExporter.create();
    telemetry = Telemetry.builder(ProducerApi.SERVICE_NAME).env(env())
        .addSpanProcessor(SimpleSpanProcessor.create(spans)).build();
    api = ProducerApi.start(env(), telemetry);
  }

  void stopApi() {
    api.close();
    telemetry.close();
  }

  void awaitReady() throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (System.nanoTime() < deadline) {
      if (get("/readyz").statusCode() == 200) {
        return;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("producer-api never became ready");
  }

  URI uri(String path) {
    return URI.create("http://localhost:" + api.port() + path);
  }

  HttpResponse<String> post(String path, String body, Map<String, String> headers)
      throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(uri(path))
        .timeout(Duration.ofSeconds(30))
        .POST(HttpRequest.BodyPublishers.ofString(body));
    headers.forEach(request::header);
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  HttpResponse<String> postJson(String body) throws Exception {
    return post("/v1/jobs", body, Map.of("Content-Type", "application/json"));
  }

  HttpResponse<String> send(String method, String path) throws Exception {
    return http.send(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(30))
        .method(method, HttpRequest.BodyPublishers.noBody()).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  HttpResponse<String> request(String method, String path, String body, Map<String, String> headers)
      throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(30))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body));
    headers.forEach(request::header);
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  HttpResponse<String> get(String path) throws Exception {
    return http.send(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(30)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** Every record of {@code topic} committed before this call. */
  List<ConsumerRecord<String, byte[]>> readTopic(String topic) {
    return dev.inferpipe.embedded.TopicReader.readAll(kafka.bootstrapServers(), topic);
  }

  static String utf8(byte[] bytes) {
    return new String(bytes, StandardCharsets.UTF_8);
  }

  @Override
  public void close() {
    stopApi();
    s3.close();
    kafka.close();
  }
}
