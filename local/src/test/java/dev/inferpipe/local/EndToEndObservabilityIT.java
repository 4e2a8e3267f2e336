package dev.inferpipe.local;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import dev.inferpipe.core.config.Env;
import dev.inferpipe.core.kafka.HeaderNames;
import dev.inferpipe.core.telemetry.LogFormat;
import dev.inferpipe.core.telemetry.Logging;
import dev.inferpipe.local.OtlpReceiver.ReceivedSpan;
import io.opentelemetry.proto.trace.v1.Span.SpanKind;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * One job through all three services with the real OTLP exporter into a real OTLP/HTTP receiver:
 * the spans form one tree, logs carry the trace, metrics move, and the prompt appears nowhere.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EndToEndObservabilityIT {
  /** "quokka" is no word the model knows: it used to be copied into the result as text. */
  private static final String UNKNOWN_WORD = "quokka";
  private static final String PROMPT = "a green square beside a " + UNKNOWN_WORD;

  private final ByteArrayOutputStream logs = new ByteArrayOutputStream();
  private PrintStream originalOut;
  private OtlpReceiver receiver;
  private LocalStack stack;
  private ApiClient api;
  private Path dataDir;
  private String jobId;
  private String traceId;

  @BeforeAll
  void runOneJob(@TempDir Path dir) throws Exception {
    dataDir = dir;
    originalOut = System.out;
    System.setOut(new PrintStream(new Tee(originalOut, logs), true, StandardCharsets.UTF_8));
    Logging.configure(LogFormat.JSON, Level.INFO, "local", "local");
    receiver = new OtlpReceiver();
    Map<String, String> env = new HashMap<>(LocalStack.ephemeralEnv(dir));
    env.put("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint());
    env.put("OTEL_BSP_SCHEDULE_DELAY", "100");
    stack = LocalStack.start(Env.of(env));
    api = new ApiClient(stack.apiUrl());
    long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
    while (!(stack.consumerReady() && api.get("/readyz").status() == 200)) {
      assertThat(System.nanoTime()).isLessThan(deadline);
      Thread.sleep(100);
    }
    ApiClient.Response accepted = api.submit("{\"task\":\"txt2img\",\"model_id\":\"tiny-shapes-diffusion\","
        + "\"input\":{\"prompt\":\"" + PROMPT + "\",\"steps\":5,\"seed\":11}}");
    assertThat(accepted.status()).isEqualTo(202);
    jobId = api.json(accepted.body()).get("job_id").asString();
    JsonNode done = api.awaitTerminal(jobId, Duration.ofMinutes(2), s -> { });
    assertThat(done.get("status").asString()).isEqualTo("SUCCEEDED");
    traceId = done.get("trace_id").asString();
    awaitTrace(traceId);
  }

  @AfterAll
  void stop() {
    stack.close();
    receiver.close();
    System.setOut(originalOut);
  }

  /**
   * Spans are exported when they end, in batches per service: the sink's last span can arrive
   * before the consumer's process span (which ends after its output was acknowledged).
   */
  private void awaitTrace(String trace) throws InterruptedException {
    awaitSpan(trace, "storage-sink", "inference.status publish");
    awaitSpan(trace, "storage-sink", "process inference.outputs");
    awaitSpan(trace, "gpu-consumer", "process inference.requests");
  }

  private void awaitSpan(String trace, String service, String name) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (System.nanoTime() < deadline) {
      if (receiver.spans().stream().anyMatch(s -> s.traceId().equals(trace)
          && s.service().equals(service) && s.name().equals(name))) {
        return;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("no " + name + " from " + service + " in trace " + trace);
  }

  private static ReceivedSpan one(List<ReceivedSpan> spans, String service, String name) {
    List<ReceivedSpan> found = spans.stream()
        .filter(s -> s.service().equals(service) && s.name().equals(name)).toList();
    assertThat(found).as("%s/%s", service, name).hasSize(1);
    return found.get(0);
  }

  @Test
  void theJobsSpansFromAllThreeServicesFormOneTree() {
    List<ReceivedSpan> trace = receiver.spans().stream()
        .filter(s -> s.traceId().equals(traceId)).toList();
    ReceivedSpan post = one(trace, "producer-api", "POST /v1/jobs");
    ReceivedSpan send = one(trace, "producer-api", "inference.requests publish");
    ReceivedSpan queueWait = one(trace, "gpu-consumer", "queue.wait inference.requests");
    ReceivedSpan process = one(trace, "gpu-consumer", "process inference.requests");
    ReceivedSpan sample = one(trace, "gpu-consumer", "diffusion.sample");
    ReceivedSpan output = one(trace, "gpu-consumer", "inference.outputs publish");
    ReceivedSpan sink = one(trace, "storage-sink", "process inference.outputs");
    // The sink publishes two statuses: STORING (its claim on the output), then SUCCEEDED.
    List<ReceivedSpan> statuses = trace.stream().filter(s -> s.service().equals("storage-sink")
        && s.name().equals("inference.status publish")).toList();

    assertThat(post.kind()).isEqualTo(SpanKind.SPAN_KIND_SERVER);
    assertThat(post.parentSpanId()).isEmpty();
    assertThat(send.parentSpanId()).isEqualTo(post.spanId());
    assertThat(queueWait.parentSpanId()).isEqualTo(send.spanId());
    assertThat(process.parentSpanId()).isEqualTo(send.spanId());
    assertThat(process.kind()).isEqualTo(SpanKind.SPAN_KIND_CONSUMER);
    assertThat(queueWait.endNanos()).isLessThanOrEqualTo(process.startNanos() + 1_000_000);
    for (String name : List.of("diffusion.encode_prompt", "diffusion.decode")) {
      assertThat(one(trace, "gpu-consumer", name).parentSpanId()).isEqualTo(process.spanId());
    }
    assertThat(sample.parentSpanId()).isEqualTo(process.spanId());
    assertThat(trace.stream().filter(s -> s.name().startsWith("diffusion.step ")))
        .hasSize(5).allSatisfy(s -> assertThat(s.parentSpanId()).isEqualTo(sample.spanId()));
    assertThat(output.parentSpanId()).isEqualTo(process.spanId());
    assertThat(sink.parentSpanId()).isEqualTo(output.spanId());
    assertThat(sink.kind()).isEqualTo(SpanKind.SPAN_KIND_CONSUMER);
    assertThat(trace.stream().filter(s -> s.name().equals("s3.put_object")))
        .hasSize(2).allSatisfy(s -> assertThat(s.parentSpanId()).isEqualTo(sink.spanId()));
    assertThat(statuses).hasSize(2)
        .allSatisfy(s -> assertThat(s.parentSpanId()).isEqualTo(sink.spanId()));
    // Exactly one CONSUMER span per hop: ours, not a second one from a client wrapper.
    assertThat(trace.stream().filter(s -> s.kind() == SpanKind.SPAN_KIND_CONSUMER))
        .extracting(ReceivedSpan::name)
        .containsExactlyInAnyOrder("process inference.requests", "process inference.outputs");
    assertThat(process.attribute("messaging.system")).isEqualTo("kafka");
    assertThat(process.attribute("messaging.destination.name")).isEqualTo("inference.requests");
    assertThat(process.attribute("messaging.consumer.group.name")).isEqualTo("inferpipe-gpu-consumer");
    assertThat(sink.attribute("messaging.consumer.group.name")).isEqualTo("inferpipe-storage-sink");
  }

  @Test
  void aJobPublishedStraightToKafkaWithoutTraceContextStartsItsTraceAtTheConsumer()
      throws Exception {
    try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(
        Map.of("bootstrap.servers", stack.kafkaBootstrapServers()),
        new StringSerializer(), new ByteArraySerializer())) {
      producer.send(new ProducerRecord<>("inference.requests", null, "direct-1",
          ("{\"job_id\":\"direct-1\",\"task\":\"txt2img\",\"model_id\":\"tiny-shapes-diffusion\","
              + "\"input\":{\"prompt\":\"a red square\",\"steps\":3}}").getBytes(StandardCharsets.UTF_8),
          new RecordHeaders())).get();
    }
    JsonNode done = api.awaitTerminal("direct-1", Duration.ofMinutes(2), s -> { });
    assertThat(done.get("status").asString()).isEqualTo("SUCCEEDED");
    String trace = done.get("trace_id").asString();
    awaitTrace(trace);
    List<ReceivedSpan> spans = receiver.spans().stream().filter(s -> s.traceId().equals(trace)).toList();
    assertThat(spans).noneMatch(s -> s.service().equals("producer-api"));
    assertThat(one(spans, "gpu-consumer", "process inference.requests").parentSpanId()).isEmpty();
    assertThat(one(spans, "storage-sink", "process inference.outputs")).isNotNull();
  }

  @Test
  void logLinesOfTheJobCarryItsTraceAndTheDocumentedFields() {
    List<JsonNode> lines = new ArrayList<>();
    for (String line : logs.toString(StandardCharsets.UTF_8).split("\n")) {
      if (line.startsWith("{")) {
        lines.add(api.json(line));
      }
    }
    List<JsonNode> jobLines = lines.stream()
        .filter(l -> l.has("job_id") && l.get("job_id").asString().equals(jobId)).toList();
    assertThat(jobLines).hasSizeGreaterThanOrEqualTo(3).allSatisfy(l -> {
      assertThat(l.get("trace_id").asString()).isEqualTo(traceId);
      assertThat(l.get("span_id").asString()).hasSize(16);
      assertThat(l.has("service")).isTrue();
      assertThat(l.has("instance_id")).isTrue();
      assertThat(l.has("event")).isTrue();
    });
    List<String> fields = jobLines.stream().flatMap(l -> Stream.of(l.propertyNames().toArray(String[]::new)))
        .distinct().toList();
    assertThat(fields).contains("service", "instance_id", "event", "model_id", "prompt_hash",
        "sampler", "steps", "cfg_scale", "seed", "inference_time_ms", "peak_memory_mb",
        "output_location", "status");
    assertThat(jobLines).extracting(l -> l.get("service").asString())
        .contains("producer-api", "gpu-consumer", "storage-sink");
  }

  @Test
  void everyServicesMetricsMovedForTheJob() throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    String apiMetrics = http.send(HttpRequest.newBuilder(URI.create(stack.apiUrl() + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString()).body();
    String consumerMetrics = http.send(HttpRequest.newBuilder(
        URI.create(stack.consumerManagementUrl() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
    String sinkMetrics = http.send(HttpRequest.newBuilder(
        URI.create(stack.sinkManagementUrl() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
    assertThat(apiMetrics).contains("inference_submissions_total{code=\"\",outcome=\"accepted\"");
    assertThat(consumerMetrics).contains("inference_request_duration_seconds_count{model=\"tiny-shapes-diffusion\"",
        "inference_queue_wait_seconds_count{model=\"tiny-shapes-diffusion\"",
        "inference_sampling_step_seconds_count{batch_size=\"1\",model=\"tiny-shapes-diffusion\"",
        "inference_model_load_seconds_count", "inference_model_cache_hit_ratio",
        "process_memory_peak_bytes");
    assertThat(sinkMetrics).contains("inference_s3_put_seconds_count",
        "inference_jobs_total{model=\"tiny-shapes-diffusion\",service=\"storage-sink\",status=\"SUCCEEDED\"");
    for (String metrics : List.of(apiMetrics, consumerMetrics, sinkMetrics)) {
      assertThat(metrics).doesNotContain(PROMPT, UNKNOWN_WORD);
    }
  }

  @Test
  void thePromptAppearsNowhereButInTheRequest() throws Exception {
    assertThat(logs.toString(StandardCharsets.UTF_8)).doesNotContain(PROMPT, UNKNOWN_WORD)
        .as("no credential is logged either").doesNotContain(dev.inferpipe.embedded.EmbeddedS3.SECRET_KEY);
    assertThat(receiver.rawText()).doesNotContain(PROMPT, UNKNOWN_WORD);
    Path result = dataDir.resolve("s3").resolve("inferpipe-outputs").resolve("outputs")
        .resolve(jobId).resolve("result.json");
    assertThat(Files.readString(result)).contains("prompt_hash").doesNotContain(PROMPT, UNKNOWN_WORD)
        // Unknown words are a count; the hash is keyed, so it is not the prompt's plain SHA-256.
        .contains("\"unknown_words\":2")
        .doesNotContain(dev.inferpipe.core.job.Sha256.hex(PROMPT));
    assertThat(api.get("/v1/jobs/" + jobId).body()).doesNotContain(PROMPT, UNKNOWN_WORD);
    assertThat(api.get("/v1/jobs/" + jobId + "/trace").body()).doesNotContain(PROMPT, UNKNOWN_WORD);

    // Raw Kafka events past the request: every status event and every output/DLQ record,
    // values and headers alike.
    for (String topic : List.of("inference.status", "inference.outputs", "inference.dlq")) {
      var records = dev.inferpipe.embedded.TopicReader.readAll(stack.kafkaBootstrapServers(), topic);
      if (topic.equals("inference.status")) {
        assertThat(records).as("status events were read").isNotEmpty();
      }
      for (var record : records) {
        assertThat(record.value() == null ? "" : new String(record.value(), StandardCharsets.UTF_8))
            .as(topic + " value").doesNotContain(PROMPT, UNKNOWN_WORD);
        for (var header : record.headers()) {
          assertThat(new String(header.value(), StandardCharsets.UTF_8))
              .as(topic + " header " + header.key()).doesNotContain(PROMPT, UNKNOWN_WORD);
        }
      }
    }

    // S3: each object's metadata as S3 serves it, and every byte the S3 server stored on disk.
    try (var s3 = software.amazon.awssdk.services.s3.S3Client.builder()
        .endpointOverride(URI.create(stack.s3Endpoint())).forcePathStyle(true)
        .region(software.amazon.awssdk.regions.Region.US_EAST_1)
        .credentialsProvider(software.amazon.awssdk.auth.credentials.StaticCredentialsProvider.create(
            software.amazon.awssdk.auth.credentials.AwsBasicCredentials.create(
                dev.inferpipe.embedded.EmbeddedS3.ACCESS_KEY,
                dev.inferpipe.embedded.EmbeddedS3.SECRET_KEY)))
        .build()) {
      var keys = s3.listObjectsV2(b -> b.bucket("inferpipe-outputs").prefix("outputs/" + jobId + "/"))
          .contents();
      assertThat(keys).hasSize(2);
      for (var object : keys) {
        var head = s3.headObject(b -> b.bucket("inferpipe-outputs").key(object.key()));
        assertThat(head.metadata().toString() + " " + head.contentType() + " " + object.key())
            .doesNotContain(PROMPT, UNKNOWN_WORD);
      }
    }
    try (var files = Files.walk(dataDir.resolve("s3"))) {
      for (Path file : files.filter(Files::isRegularFile).toList()) {
        assertThat(new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1))
            .as(file.toString()).doesNotContain(PROMPT, UNKNOWN_WORD);
      }
    }
  }

  @Test
  void theLocalTraceEndpointServesTheSameTree() throws Exception {
    JsonNode trace = api.json(api.get("/v1/jobs/" + jobId + "/trace").body());
    assertThat(trace.get("trace_id").asString()).isEqualTo(traceId);
    List<String> names = new ArrayList<>();
    trace.get("spans").forEach(s -> names.add(s.get("name").asString()));
    assertThat(names).contains("POST /v1/jobs", "queue.wait inference.requests",
        "process inference.requests", "diffusion.sample", "process inference.outputs", "s3.put_object");
    String text = api.get("/v1/jobs/" + jobId + "/trace?format=text").body();
    assertThat(text).contains("POST /v1/jobs", "diffusion.step 0..4 (5 spans", "storage-sink");
  }

  @Test
  void theCommandLineSubmitsPollsAndFetches(@TempDir Path work) throws Exception {
    Env cli = Env.of(Map.of("INFERPIPE_API_URL", stack.apiUrl(),
        "KAFKA_BOOTSTRAP_SERVERS", stack.kafkaBootstrapServers()));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrintStream print = new PrintStream(out, true, StandardCharsets.UTF_8);
    int submitted = PipelineCli.run(new String[] {"submit", "--wait",
        "{\"job_id\":\"cli-1\",\"task\":\"txt2img\",\"model_id\":\"tiny-shapes-diffusion\","
            + "\"input\":{\"prompt\":\"a yellow circle\",\"steps\":3}}"}, cli, print, print);
    assertThat(submitted).as(out.toString(StandardCharsets.UTF_8)).isZero();
    assertThat(out.toString(StandardCharsets.UTF_8)).contains("\"status\":\"SUCCEEDED\"");

    int direct = PipelineCli.run(new String[] {"submit", "--direct", "--wait",
        "{\"job_id\":\"cli-2\",\"task\":\"txt2img\",\"model_id\":\"tiny-shapes-diffusion\","
            + "\"input\":{\"prompt\":\"a blue circle\",\"steps\":3}}"}, cli, print, print);
    assertThat(direct).as(out.toString(StandardCharsets.UTF_8)).isZero();
    assertThat(out.toString(StandardCharsets.UTF_8)).contains("published cli-2 to inference.requests");

    assertThat(PipelineCli.run(new String[] {"get", "cli-2"}, cli, print, print)).isZero();
    Path file = work.resolve("cli-1.png");
    assertThat(PipelineCli.run(new String[] {"fetch", "cli-1", file.toString()}, cli, print, print))
        .isZero();
    assertThat(javax.imageio.ImageIO.read(file.toFile()).getWidth()).isEqualTo(32);
    assertThat(PipelineCli.run(new String[] {"get", "no-such-job"}, cli, print, print)).isEqualTo(1);
  }

  /** Writes to the real stdout and a buffer. */
  private static final class Tee extends OutputStream {
    private final OutputStream a;
    private final OutputStream b;

    Tee(OutputStream a, OutputStream b) {
      this.a = a;
      this.b = b;
    }

    @Override
    public void write(int x) throws java.io.IOException {
      a.write(x);
      synchronized (b) {
        b.write(x);
      }
    }

    @Override
    public void write(byte[] bytes, int off, int len) throws java.io.IOException {
      a.write(bytes, off, len);
      synchronized (b) {
        b.write(bytes, off, len);
      }
    }
  }
}
