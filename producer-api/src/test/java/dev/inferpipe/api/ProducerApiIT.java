package dev.inferpipe.api;

import static dev.inferpipe.api.ApiTestStack.utf8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.inferpipe.core.job.ErrorCode;
import dev.inferpipe.core.job.Job;
import dev.inferpipe.core.job.JobCodec;
import dev.inferpipe.core.job.JobState;
import dev.inferpipe.core.job.JobStatus;
import dev.inferpipe.core.job.Txt2ImgInput;
import dev.inferpipe.core.kafka.HeaderNames;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.sdk.trace.data.SpanData;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;
import tools.jackson.databind.JsonNode;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ProducerApiIT {
  private ApiTestStack stack;
  private final JobCodec codec = new JobCodec();

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    stack = new ApiTestStack(dir);
    stack.awaitReady();
  }

  @AfterAll
  void stop() {
    stack.close();
  }

  private static String txt2img(String jobIdField, String prompt) {
    return "{" + jobIdField + "\"task\":\"txt2img\",\"model_id\":\"tiny-shapes-diffusion\","
        + "\"input\":{\"prompt\":\"" + prompt + "\",\"steps\":10}}";
  }

  private JsonNode json(HttpResponse<String> response) {
    return codec.parseTree(response.body().getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  private List<ConsumerRecord<String, byte[]>> recordsFor(String topic, String jobId) {
    return stack.readTopic(topic).stream().filter(r -> jobId.equals(r.key())).toList();
  }

  @Test
  void submittedJobIsOnTheTopicInTheSameTraceAsTheHttpServerSpan() throws Exception {
    HttpResponse<String> response = stack.postJson(txt2img("", "a red circle"));

    assertThat(response.statusCode()).isEqualTo(202);
    JsonNode body = json(response);
    String jobId = body.get("job_id").asString();
    assertThat(body.get("status").asString()).isEqualTo("QUEUED");
    assertThat(body.get("status_url").asString()).isEqualTo("/v1/jobs/" + jobId);
    assertThat(body.get("output_location").asString())
        .isEqualTo("s3://inferpipe-outputs/outputs/" + jobId + "/");

    ConsumerRecord<String, byte[]> request = recordsFor("inference.requests", jobId).get(0);
    String traceparent = HeaderNames.get(request.headers(), HeaderNames.TRACEPARENT).orElseThrow();
    SpanData server = stack.spans.getFinishedSpanItems().stream()
        .filter(s -> s.getKind() == SpanKind.SERVER && s.getName().equals("POST /v1/jobs"))
        .filter(s -> traceparent.contains(s.getTraceId()))
        .findFirst().orElseThrow(() -> new AssertionError("no SERVER span for " + traceparent + " in " + stack.spans.getFinishedSpanItems()));
    assertThat(traceparent.split("-")[1]).isEqualTo(server.getTraceId());
    SpanData send = stack.spans.getFinishedSpanItems().stream()
        .filter(s -> s.getKind() == SpanKind.PRODUCER && traceparent.contains(s.getSpanId()))
        .findFirst().orElseThrow();
    assertThat(send.getParentSpanId()).isEqualTo(server.getSpanId());
    assertThat(send.getName()).isEqualTo("inference.requests publish");
    assertThat(send.getAttributes().asMap().toString())
        .contains("messaging.system=kafka", "messaging.destination.name=inference.requests");
    long enqueuedAt = Long.parseLong(
        HeaderNames.get(request.headers(), HeaderNames.ENQUEUED_AT_MS).orElseThrow());
    assertThat(enqueuedAt).isBetween(Instant.now().minusSeconds(60).toEpochMilli(),
        Instant.now().toEpochMilli());
    assertThat(HeaderNames.get(request.headers(), HeaderNames.SCHEMA_VERSION)).contains("1");
    assertThat(HeaderNames.get(request.headers(), HeaderNames.CONTENT_TYPE))
        .contains("application/json");

    // The record holds the job with every default filled in: it runs exactly as recorded.
    Job job = codec.decodeJob(request.value());
    Txt2ImgInput input = (Txt2ImgInput) job.input();
    assertThat(input.seed()).isNotNull();
    assertThat(input.sampler()).isEqualTo("ddim");
    assertThat(input.width()).isEqualTo(32);
    assertThat(input.steps()).isEqualTo(10);

    JobStatus queued = codec.decodeStatus(recordsFor("inference.status", jobId).get(0).value());
    assertThat(queued.status()).isEqualTo(JobState.QUEUED);
    assertThat(queued.traceId()).isEqualTo(server.getTraceId());
    // The prompt is user data: the span knows the route, not the prompt.
    assertThat(server.getAttributes().toString()).doesNotContain("a red circle");
  }

  @Test
  void incomingTraceparentIsContinued() throws Exception {
    String traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    String parentSpanId = "00f067aa0ba902b7";
    HttpResponse<String> response = stack.post("/v1/jobs", txt2img("", "a blue square"), Map.of(
        "Content-Type", "application/json",
        "traceparent", "00-" + traceId + "-" + parentSpanId + "-01"));
    assertThat(response.statusCode()).isEqualTo(202);
    String jobId = json(response).get("job_id").asString();

    SpanData server = stack.spans.getFinishedSpanItems().stream()
        .filter(s -> s.getKind() == SpanKind.SERVER && s.getTraceId().equals(traceId))
        .findFirst().orElseThrow();
    assertThat(server.getParentSpanId()).isEqualTo(parentSpanId);
    assertThat(server.getAttributes().asMap().toString()).contains("http.response.status_code=202");
    String recordTraceparent = HeaderNames.get(
        recordsFor("inference.requests", jobId).get(0).headers(), HeaderNames.TRACEPARENT).orElseThrow();
    assertThat(recordTraceparent).contains(traceId);
  }

  @Test
  void statusPollingFollowsTheJobToItsResult() throws Exception {
    String jobId = json(stack.postJson(txt2img("", "a green triangle"))).get("job_id").asString();

    HttpResponse<String> queued = stack.get("/v1/jobs/" + jobId);
    assertThat(queued.statusCode()).isEqualTo(200);
    assertThat(json(queued).get("status").asString()).isEqualTo("QUEUED");
    HttpResponse<String> early = stack.get("/v1/jobs/" + jobId + "/result");
    assertThat(early.statusCode()).isEqualTo(409);
    assertThat(json(early).get("error").get("code").asString()).isEqualTo("NOT_FINISHED");

    // Play the consumer and the sink: the object lands in S3, then SUCCEEDED on the status topic.
    String key = "outputs/" + jobId + "/image.png";
    byte[] png = {(byte) 0x89, 'P', 'N', 'G', 1, 2, 3};
    try (var s3 = stack.s3.client()) {
      s3.putObject(b -> b.bucket(ApiTestStack.BUCKET).key(key).contentType("image/png"),
          RequestBody.fromBytes(png));
    }
    JobStatus status = codec.decodeStatus(recordsFor("inference.status", jobId).get(0).value());
    Instant now = Instant.now();
    JobStatus done = status.running(now, 12)
        .succeeded(now.plusMillis(40), 40, "s3://" + ApiTestStack.BUCKET + "/" + key, null);
    publishStatus(done);

    JsonNode polled = pollUntil(jobId, "SUCCEEDED");
    assertThat(polled.get("queue_wait_ms").asLong()).isEqualTo(12);
    assertThat(polled.get("output_location").asString()).endsWith(key);

    HttpResponse<String> result = stack.get("/v1/jobs/" + jobId + "/result");
    assertThat(result.statusCode()).isEqualTo(302);
    String url = result.headers().firstValue("Location").orElseThrow();
    assertThat(url).contains("X-Amz-Signature=").contains("X-Amz-Expires=900");
    HttpResponse<byte[]> object = stack.http.send(HttpRequest.newBuilder(URI.create(url)).build(),
        HttpResponse.BodyHandlers.ofByteArray());
    assertThat(object.statusCode()).isEqualTo(200);
    assertThat(object.body()).isEqualTo(png);
  }

  @Test
  void aStatusNamingAnyOtherObjectGetsNoResultLink() throws Exception {
    // Forged or corrupted statuses: another job's output, a key outside outputs/, another bucket.
    for (String location : List.of("outputs/someone-else/image.png", "secrets/keys.json",
        "outputs/%s/../../secrets/keys.json")) {
      HttpResponse<String> accepted = stack.postJson("{\"task\":\"txt2img\","
          + "\"model_id\":\"tiny-shapes-diffusion\",\"input\":{\"prompt\":\"a red circle\"}}");
      String jobId = json(accepted).get("job_id").asString();
      JobStatus queued = codec.decodeStatus(recordsFor("inference.status", jobId).get(0).value());
      Instant now = Instant.now();
      publishStatus(queued.running(now, 1).succeeded(now, 1,
          "s3://" + ApiTestStack.BUCKET + "/" + location.formatted(jobId), null));
      pollUntil(jobId, "SUCCEEDED");
      HttpResponse<String> result = stack.get("/v1/jobs/" + jobId + "/result");
      assertThat(result.statusCode()).as(location).isEqualTo(500);
      assertThat(result.headers().firstValue("Location")).as(location).isEmpty();
      assertThat(result.body()).doesNotContain("X-Amz-Signature");
    }
  }

  private void publishStatus(JobStatus status) throws Exception {
    try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(
        Map.of("bootstrap.servers", stack.kafka.bootstrapServers()),
        new StringSerializer(), new ByteArraySerializer())) {
      producer.send(new ProducerRecord<>("inference.status", status.jobId(), codec.encode(status)))
          .get();
    }
  }

  private JsonNode pollUntil(String jobId, String state) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    JsonNode last = null;
    while (System.nanoTime() < deadline) {
      last = json(stack.get("/v1/jobs/" + jobId));
      if (state.equals(last.get("status").asString())) {
        return last;
      }
      Thread.sleep(50);
    }
    throw new AssertionError("job " + jobId + " never reached " + state + "; last: " + last);
  }

  @Test
  void clientChosenJobIdMakesResubmissionIdempotent() throws Exception {
    String body = txt2img("\"job_id\":\"idem-1\",", "a yellow circle");
    HttpResponse<String> first = stack.postJson(body);
    // Same content, other key order and spacing: still the same job.
    HttpResponse<String> again = stack.postJson("{ \"input\": {\"steps\": 10, \"prompt\": \"a yellow circle\"},"
        + " \"model_id\": \"tiny-shapes-diffusion\", \"task\": \"txt2img\", \"job_id\": \"idem-1\" }");
    HttpResponse<String> other = stack.postJson(txt2img("\"job_id\":\"idem-1\",", "a red square"));

    assertThat(first.statusCode()).isEqualTo(202);
    assertThat(again.statusCode()).isEqualTo(202);
    assertThat(json(again).get("job_id").asString()).isEqualTo("idem-1");
    assertThat(json(again).get("output_location").asString())
        .isEqualTo(json(first).get("output_location").asString());
    assertThat(other.statusCode()).isEqualTo(409);
    assertThat(json(other).get("error").get("code").asString()).isEqualTo("JOB_ID_CONFLICT");
    assertThat(recordsFor("inference.requests", "idem-1")).hasSize(1);
  }

  @Test
  void badRequestsGetSpecificErrors() throws Exception {
    HttpResponse<String> invalid = stack.postJson(
        "{\"task\":\"txt2img\",\"model_id\":\"tiny-shapes-diffusion\",\"input\":{\"steps\":500}}");
    assertThat(invalid.statusCode()).isEqualTo(400);
    JsonNode error = json(invalid).get("error");
    assertThat(error.get("code").asString()).isEqualTo("INVALID_JOB");
    assertThat(error.get("fields").toString())
        .contains("\"field\":\"input.prompt\"", "\"reason\":\"required\"")
        .contains("\"field\":\"input.steps\"", "\"reason\":\"maximum\"");

    HttpResponse<String> unknownModel = stack.postJson(
        "{\"task\":\"txt2img\",\"model_id\":\"sd-xl\",\"input\":{\"prompt\":\"x\"}}");
    assertThat(unknownModel.statusCode()).isEqualTo(400);
    assertThat(json(unknownModel).get("error").get("code").asString())
        .isEqualTo(ErrorCode.UNKNOWN_MODEL.name());

    HttpResponse<String> malformed = stack.postJson("{\"task\": \"txt2img\",");
    assertThat(malformed.statusCode()).isEqualTo(400);
    assertThat(json(malformed).get("error").get("code").asString()).isEqualTo("INVALID_JSON");

    HttpResponse<String> notJson = stack.post("/v1/jobs", "task=txt2img",
        Map.of("Content-Type", "application/x-www-form-urlencoded"));
    assertThat(notJson.statusCode()).isEqualTo(415);

    HttpResponse<String> tooLarge = stack.postJson("{\"pad\":\"" + "x".repeat(7 * 1024 * 1024) + "\"}");
    assertThat(tooLarge.statusCode()).isEqualTo(413);
    assertThat(json(tooLarge).get("error").get("code").asString()).isEqualTo("PAYLOAD_TOO_LARGE");

    assertThat(stack.get("/v1/jobs/no-such-job").statusCode()).isEqualTo(404);
    HttpResponse<String> badId = stack.get("/v1/jobs/bad%20id");
    assertThat(badId.statusCode()).isEqualTo(400);
    assertThat(json(badId).get("error").get("fields").get(0).get("field").asString())
        .isEqualTo("job_id");
  }

  @Test
  void oversizedBodiesGetTheir413EveryTime() throws Exception {
    // The server reads and drops what it refuses: answering with the body unread resets the
    // connection, and the client then saw "header parser received no bytes" instead of the 413.
    for (int i = 0; i < 12; i++) {
      int size = (i % 2 == 0 ? 7 : 20) * 1024 * 1024;
      HttpResponse<String> tooLarge = stack.postJson("{\"pad\":\"" + "x".repeat(size) + "\"}");
      assertThat(tooLarge.statusCode()).as("attempt %d, %d bytes", i, size).isEqualTo(413);
      assertThat(tooLarge.headers().firstValue("Connection")).hasValue("close");
    }
    assertThat(stack.get("/healthz").statusCode()).isEqualTo(200);
  }

  @Test
  void aQueuedJobCanBeCancelledOnce() throws Exception {
    String jobId = json(stack.postJson(txt2img("", "a red circle"))).get("job_id").asString();
    HttpResponse<String> cancelled = stack.send("DELETE", "/v1/jobs/" + jobId);
    assertThat(cancelled.statusCode()).isEqualTo(202);
    assertThat(json(cancelled).get("status").asString()).isEqualTo("CANCELLED");
    assertThat(json(stack.get("/v1/jobs/" + jobId)).get("status").asString()).isEqualTo("CANCELLED");
    assertThat(stack.send("DELETE", "/v1/jobs/" + jobId).statusCode()).isEqualTo(409);
    assertThat(stack.send("DELETE", "/v1/jobs/no-such-job").statusCode()).isEqualTo(404);
    List<JobStatus> events = recordsFor("inference.status", jobId).stream()
        .map(r -> codec.decodeStatus(r.value())).toList();
    assertThat(events).extracting(JobStatus::status)
        .containsExactly(JobState.QUEUED, JobState.CANCELLED);
  }

  @Test
  void metricsCountSubmissionsAndHttpRequests() throws Exception {
    stack.postJson(txt2img("", "a red square"));
    HttpResponse<String> metrics = stack.get("/metrics");
    assertThat(metrics.statusCode()).isEqualTo(200);
    assertThat(metrics.body())
        .contains("inference_submissions_total{code=\"\",outcome=\"accepted\",service=\"producer-api\"}")
        .contains("http_server_requests_seconds_count{method=\"POST\",route=\"/v1/jobs\"")
        .contains("kafka_producer_");
  }

  @Test
  void restartedApiRebuildsStatusFromTheTopic() throws Exception {
    String jobId = json(stack.postJson(txt2img("", "a blue circle"))).get("job_id").asString();
    stack.stopApi();
    stack.startApi();
    stack.awaitReady();
    HttpResponse<String> polled = stack.get("/v1/jobs/" + jobId);
    assertThat(polled.statusCode()).isEqualTo(200);
    assertThat(json(polled).get("status").asString()).isEqualTo("QUEUED");
    assertThat(Optional.ofNullable(json(polled).get("trace_id"))).isPresent();
  }

  static java.util.stream.Stream<dev.inferpipe.embedded.HostileInputs.Entry> hostileInputs() {
    return dev.inferpipe.embedded.HostileInputs.load().stream();
  }

  @org.junit.jupiter.params.ParameterizedTest(name = "{0}")
  @org.junit.jupiter.params.provider.MethodSource("hostileInputs")
  void everyHostileInputGetsItsSpecificAnswer(dev.inferpipe.embedded.HostileInputs.Entry entry)
      throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(stack.uri("/v1/jobs"))
        .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofByteArray(entry.body()));
    if (entry.traceparent() != null) {
      request.header("traceparent", entry.traceparent());
    }
    HttpResponse<String> response = stack.http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).as(response.body()).isEqualTo(entry.api().get("status").asInt());
    if (entry.api().has("code")) {
      JsonNode error = json(response).get("error");
      assertThat(error.get("code").asString()).isEqualTo(entry.api().get("code").asString());
      assertThat(error.get("message").asString()).isNotBlank();
      if (entry.api().has("field")) {
        assertThat(error.get("fields").findValuesAsString("field"))
            .contains(entry.api().get("field").asString());
      }
    }
    // Whatever came before, the API still takes an ordinary job.
    assertThat(stack.postJson(txt2img("", "a red circle")).statusCode()).isEqualTo(202);
  }

  @Test
  void openApiDocumentDescribesEveryRouteItServes() throws Exception {
    HttpResponse<String> doc = stack.get("/openapi.yaml");
    assertThat(doc.statusCode()).isEqualTo(200);
    JsonNode openapi = new tools.jackson.dataformat.yaml.YAMLMapper().readTree(doc.body());
    assertThat(openapi.get("openapi").asString()).startsWith("3.1");
    for (String path : List.of("/v1/jobs", "/v1/jobs/{id}", "/v1/jobs/{id}/result", "/healthz",
        "/readyz", "/metrics")) {
      assertThat(openapi.get("paths").has(path)).as(path).isTrue();
      String concrete = path.replace("{id}", "no-such-job");
      int status = path.equals("/v1/jobs") ? stack.postJson("{}").statusCode()
          : stack.get(concrete).statusCode();
      assertThat(status).as(path).isNotEqualTo(405);
      assertThat(openapi.get("paths").get(path).toString()).as(path)
          .contains("\"" + (status == 400 || status == 404 ? status : 200) + "\"");
    }
  }

  @Test
  void theConsoleIsServedFromTheJarWithItsSecurityHeaders() throws Exception {
    for (String path : List.of("/console", "/console/", "/console/jobs/some-job")) {
      HttpResponse<String> page = stack.request("GET", path, null, Map.of());
      assertThat(page.statusCode()).as(path).isEqualTo(200);
      assertThat(page.headers().firstValue("Content-Type").orElse("")).startsWith("text/html");
      assertThat(page.headers().firstValue("Content-Security-Policy").orElse(""))
          .contains("default-src 'self'", "frame-ancestors 'none'");
      assertThat(page.body()).contains("<script src=\"/console/console.js\"></script>")
          .doesNotContain("http://", "https://");
    }
    HttpResponse<String> script = stack.request("GET", "/console/console.js", null, Map.of());
    assertThat(script.headers().firstValue("Content-Type").orElse("")).startsWith("text/javascript");
    // Nothing fetched from elsewhere (the SVG namespace is a name, not a fetch).
    assertThat(script.body().replace("http://www.w3.org/2000/svg", ""))
        .contains("sessionStorage").doesNotContain("http://", "https://");
    assertThat(stack.request("GET", "/console/console.css", null, Map.of()).statusCode())
        .isEqualTo(200);
    // No span store in this stack: the console links a trace UI when one is configured.
    assertThat(stack.request("GET", "/console/config.json", null, Map.of()).body())
        .isEqualTo("{\"trace_url_template\":\"\"}");
    assertThat(stack.request("GET", "/console/nope.js", null, Map.of()).statusCode())
        .isEqualTo(404);
  }
}
