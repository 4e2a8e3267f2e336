package dev.inferpipe.local;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.inferpipe.core.config.Env;
import dev.inferpipe.core.job.JobCodec;
import dev.inferpipe.core.telemetry.SpanView;
import dev.inferpipe.core.webhook.WebhookSignature;
import java.io.Reader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * Completion webhooks through the whole local stack: a job submitted with {@code webhook_url}
 * (and one published straight onto Kafka) is notified once it ends, signed with the deployment's
 * secret, and the API shows the delivery on the job; a forbidden target is refused at submission.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WebhookIT {
  private LocalStack stack;
  private ApiClient api;
  private HttpServer receiver;
  private final List<byte[]> bodies = new CopyOnWriteArrayList<>();
  private final List<String> signatures = new CopyOnWriteArrayList<>();
  private final List<String> idempotencyKeys = new CopyOnWriteArrayList<>();
  private final AtomicInteger requests = new AtomicInteger();
  private final JobCodec codec = new JobCodec();
  private String secret;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    receiver = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    receiver.createContext("/hook", exchange -> {
      byte[] body = exchange.getRequestBody().readAllBytes();
      // The first request fails, so the API shows a retried delivery.
      int n = requests.incrementAndGet();
      if (n > 1) {
        bodies.add(body);
        signatures.add(exchange.getRequestHeaders().getFirst(WebhookSignature.HEADER));
        idempotencyKeys.add(exchange.getRequestHeaders().getFirst("Idempotency-Key"));
      }
      exchange.sendResponseHeaders(n == 1 ? 502 : 200, -1);
      exchange.close();
    });
    receiver.start();
    Map<String, String> env = new java.util.HashMap<>(LocalStack.ephemeralEnv(dir.resolve("data")));
    env.put("INFERPIPE_WEBHOOK_FIRST_BACKOFF", "200ms");
    stack = LocalStack.start(Env.of(env));
    api = new ApiClient(stack.apiUrl());
    long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
    while (!(stack.consumerReady() && api.get("/readyz").status() == 200)
        && System.nanoTime() < deadline) {
      Thread.sleep(200);
    }
    Properties keys = new Properties();
    try (Reader in = Files.newBufferedReader(dir.resolve("data").resolve("keys.properties"))) {
      keys.load(in);
    }
    secret = keys.getProperty("INFERPIPE_WEBHOOK_SECRET");
  }

  @AfterAll
  void stop() {
    if (stack != null) {
      stack.close();
    }
    if (receiver != null) {
      receiver.stop(0);
    }
  }

  private String hookUrl() {
    return "http://127.0.0.1:" + receiver.getAddress().getPort() + "/hook";
  }

  private JsonNode awaitDelivered(String jobId) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
    JsonNode job = null;
    while (System.nanoTime() < deadline) {
      job = api.json(api.get("/v1/jobs/" + jobId).body());
      JsonNode hook = job.get("webhook");
      if (hook != null && hook.has("state") && hook.get("state").asString().equals("DELIVERED")) {
        return job;
      }
      Thread.sleep(200);
    }
    throw new AssertionError("webhook of " + jobId + " not delivered: " + job);
  }

  @Test
  void aSubmittedJobIsNotifiedSignedAndTheDeliveryShowsOnTheJob() throws Exception {
    ApiClient.Response accepted = api.submit("{\"task\":\"txt2img\",\"model_id\":"
        + "\"tiny-shapes-diffusion\",\"input\":{\"prompt\":\"a red circle\",\"steps\":4},"
        + "\"webhook_url\":\"" + hookUrl() + "\"}");
    assertThat(accepted.status()).isEqualTo(202);
    String jobId = api.json(accepted.body()).get("job_id").asString();

    JsonNode job = awaitDelivered(jobId);
    assertThat(job.get("status").asString()).isEqualTo("SUCCEEDED");
    JsonNode hook = job.get("webhook");
    assertThat(hook.get("url").asString()).isEqualTo(hookUrl());
    assertThat(hook.get("attempts").asInt()).isEqualTo(2);
    assertThat(hook.get("last_code").asInt()).isEqualTo(200);
    assertThat(hook.has("delivered_at")).isTrue();

    int at = idempotencyKeys.indexOf(jobId + ":SUCCEEDED");
    assertThat(at).isNotNegative();
    byte[] body = bodies.get(at);
    assertThat(WebhookSignature.verify(secret, body, signatures.get(at))).isTrue();
    JsonNode sent = codec.parseTree(body);
    assertThat(sent.get("job_id").asString()).isEqualTo(jobId);
    assertThat(sent.get("output_location").asString())
        .isEqualTo(job.get("output_location").asString());

    // Every attempt is a CLIENT span of the notifier in the job's own trace.
    List<SpanView> spans = stack.spans().trace(job.get("trace_id").asString()).stream()
        .map(SpanView::of).toList();
    assertThat(spans).filteredOn(s -> s.service().equals("webhook-notifier")
        && s.name().equals("POST")).hasSize(2);
  }

  @Test
  void aJobPublishedStraightOntoKafkaIsNotifiedToo() throws Exception {
    String jobId = "direct-webhook-1";
    try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(Map.of(
        "bootstrap.servers", stack.kafkaBootstrapServers()), new StringSerializer(),
        new ByteArraySerializer())) {
      producer.send(new ProducerRecord<>("inference.requests", jobId, ("{\"job_id\":\"" + jobId
          + "\",\"task\":\"txt2img\",\"model_id\":\"tiny-shapes-diffusion\",\"input\":{"
          + "\"prompt\":\"a blue square\",\"steps\":2},\"webhook_url\":\"" + hookUrl() + "\"}")
          .getBytes(StandardCharsets.UTF_8))).get();
    }
    long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
    while (!idempotencyKeys.contains(jobId + ":SUCCEEDED") && System.nanoTime() < deadline) {
      Thread.sleep(200);
    }
    int at = idempotencyKeys.indexOf(jobId + ":SUCCEEDED");
    assertThat(at).as("the direct job's notification").isNotNegative();
    assertThat(WebhookSignature.verify(secret, bodies.get(at), signatures.get(at))).isTrue();
  }

  @Test
  void aForbiddenTargetIsRefusedAtSubmissionNamingTheField() throws Exception {
    for (String url : List.of("https://169.254.169.254/latest/meta-data", "http://example.com/h",
        "https://10.0.0.1/h")) {
      ApiClient.Response refused = api.submit("{\"task\":\"txt2img\",\"model_id\":"
          + "\"tiny-shapes-diffusion\",\"input\":{\"prompt\":\"a red circle\"},"
          + "\"webhook_url\":\"" + url + "\"}");
      assertThat(refused.status()).as(url).isEqualTo(400);
      JsonNode field = api.json(refused.body()).get("error").get("fields").get(0);
      assertThat(field.get("field").asString()).isEqualTo("webhook_url");
      assertThat(field.get("reason").asString()).isEqualTo("webhook_not_allowed");
    }
  }
}
