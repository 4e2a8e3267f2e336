package dev.inferpipe.consumer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inferpipe.core.config.Env;
import dev.inferpipe.core.config.Topics;
import dev.inferpipe.core.job.JobCodec;
import dev.inferpipe.core.job.JobState;
import dev.inferpipe.core.job.JobStatus;
import dev.inferpipe.core.kafka.HeaderNames;
import dev.inferpipe.core.kafka.TopicProvisioner;
import dev.inferpipe.core.telemetry.Telemetry;
import dev.inferpipe.embedded.EmbeddedKafka;
import dev.inferpipe.embedded.EmbeddedS3;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
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
import software.amazon.awssdk.core.sync.RequestBody;
import tools.jackson.databind.JsonNode;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GpuConsumerIT {
  private static final String TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
  private static final String PRODUCER_SPAN = "00f067aa0ba902b7";

  private final JobCodec codec = new JobCodec();
  private final Topics topics = Topics.defaults();
  private final Map<String, String> keys = dev.inferpipe.core.config.DeploymentKeys.randomEnv();
  private final InMemorySpanExporter spans = InMemorySpanExporter.create();
  private EmbeddedKafka kafka;
  private EmbeddedS3 s3;
  private Telemetry telemetry;
  private GpuConsumer consumer;
  private KafkaProducer<String, byte[]> publisher;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    kafka = EmbeddedKafka.create(dir.resolve("kafka"), 0).start();
    s3 = EmbeddedS3.inMemory().start();
    s3.createBucket("scenes");
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
      TopicProvisioner.ensureTopics(admin, topics, 2, (short) 1);
    }
    Env env = consumerEnv(Map.of("INFERPIPE_VQA_IMAGE_PREFIXES", "s3://scenes/"));
    telemetry = Telemetry.builder(GpuConsumer.SERVICE_NAME).env(env)
        .addSpanProcessor(SimpleSpanProcessor.create(spans)).build();
    consumer = GpuConsumer.start(env, telemetry);
    publisher = new KafkaProducer<>(Map.of("bootstrap.servers", kafka.bootstrapServers()),
        new StringSerializer(), new ByteArraySerializer());
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!consumer.isReady() && System.nanoTime() < deadline) {
      Thread.sleep(100);
    }
    assertThat(consumer.isReady()).isTrue();
  }

  @AfterAll
  void stop() {
    publisher.close();
    consumer.close();
    telemetry.close();
    s3.close();
    kafka.close();
  }

  /** A consumer's environment against this test's broker and S3, plus {@code settings}. */
  private Env consumerEnv(Map<String, String> settings) {
    return Env.of(s3.clientEnv()).with(keys).with(Map.of(
        "KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrapServers(),
        "INFERPIPE_CONSUMER_MANAGEMENT_PORT", "0",
        "INFERPIPE_DEVICE", "cpu")).with(settings);
  }

  private void publish(String key, String value, Long timestamp, Map<String, String> headers)
      throws Exception {
    RecordHeaders h = new RecordHeaders();
    headers.forEach((k, v) -> HeaderNames.put(h, k, v));
    publisher.send(new ProducerRecord<>(topics.requests(), null, timestamp, key,
        value.getBytes(StandardCharsets.UTF_8), h)).get();
  }

  @Test
  void withDirectPublishingOffOnlyTheApisSignedRecordsRun() throws Exception {
    Topics closed = new Topics("closed.requests", "closed.outputs", topics.status(), "closed.dlq",
        topics.webhooks());
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
      TopicProvisioner.ensureTopics(admin, closed, 1, (short) 1);
    }
    Env env = consumerEnv(Map.of(
        "INFERPIPE_CONSUMER_GROUP", "closed-consumers",
        "INFERPIPE_MODELS", "tiny-shapes-diffusion",
        "INFERPIPE_DIRECT_PUBLISH", "false",
        "INFERPIPE_TOPIC_REQUESTS", closed.requests(),
        "INFERPIPE_TOPIC_OUTPUTS", closed.outputs(),
        "INFERPIPE_TOPIC_DLQ", closed.dlq()));
    try (Telemetry closedTelemetry = Telemetry.builder(GpuConsumer.SERVICE_NAME).env(env).build();
        GpuConsumer closedConsumer = GpuConsumer.start(env, closedTelemetry)) {
      byte[] unsigned = txt2img("direct-off", 2).getBytes(StandardCharsets.UTF_8);
      publisher.send(new ProducerRecord<>(closed.requests(), "direct-off", unsigned)).get();
      // What producer-api writes: the same kind of body, signed with the deployment's key.
      byte[] body = txt2img("signed-on", 2).getBytes(StandardCharsets.UTF_8);
      String hash = "b".repeat(64);
      RecordHeaders signed = new RecordHeaders();
      HeaderNames.put(signed, HeaderNames.REQUEST_SHA256, hash);
      HeaderNames.put(signed, HeaderNames.TENANT, "acme");
      HeaderNames.put(signed, HeaderNames.SIGNATURE, new dev.inferpipe.core.kafka.RecordSigner(
          dev.inferpipe.core.config.DeploymentKeys.from(env).signingKey())
          .sign("signed-on", hash, "acme", body));
      publisher.send(new ProducerRecord<>(closed.requests(), null, "signed-on", body, signed)).get();

      ConsumerRecord<String, byte[]> refused = await(closed.dlq(), "direct-off");
      assertThat(HeaderNames.get(refused.headers(), HeaderNames.ERROR_CODE)).contains("UNAUTHENTICATED");
      ConsumerRecord<String, byte[]> output = await(closed.outputs(), "signed-on");
      assertThat(codec.decode(output.headers().lastHeader("inferpipe-result").value(),
          dev.inferpipe.core.job.OutputMetadata.class).tenant()).isEqualTo("acme");
    }
  }

  private static String txt2img(String jobId, int steps) {
    return "{\"job_id\":\"" + jobId + "\",\"task\":\"txt2img\",\"model_id\":\"tiny-shapes-diffusion\","
        + "\"input\":{\"prompt\":\"a red circle\",\"steps\":" + steps + ",\"seed\":3}}";
  }

  /** The first record with {@code key} on {@code topic} that satisfies nothing but existing. */
  private ConsumerRecord<String, byte[]> await(String topic, String key) {
    return awaitAll(topic, key, 1).get(0);
  }

  private List<ConsumerRecord<String, byte[]>> awaitAll(String topic, String key, int count) {
    List<ConsumerRecord<String, byte[]>> found = dev.inferpipe.embedded.TopicReader.awaitKey(
        kafka.bootstrapServers(), topic, key, count, Duration.ofSeconds(90));
    assertThat(found).as("records for %s on %s", key, topic).hasSizeGreaterThanOrEqualTo(count);
    return found;
  }

  private List<SpanData> spansOf(String traceId) {
    return spans.getFinishedSpanItems().stream().filter(s -> s.getTraceId().equals(traceId)).toList();
  }

  private void awaitSpanNamed(String traceId, String name) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (spansOf(traceId).stream().noneMatch(s -> s.getName().equals(name))
        && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
  }

  private static SpanData named(List<SpanData> spans, String name) {
    return spans.stream().filter(s -> s.getName().equals(name)).findFirst()
        .orElseThrow(() -> new AssertionError("no span " + name + " in " + spans.stream().map(SpanData::getName).toList()));
  }

  @Test
  void continuesTheProducersTraceThroughToTheOutputRecord() throws Exception {
    long enqueuedAt = System.currentTimeMillis() - 1500; // the job "waited" 1.5 s before we publish
    publish("traced-1", txt2img("traced-1", 6), null, Map.of(
        "traceparent", "00-" + TRACE_ID + "-" + PRODUCER_SPAN + "-01",
        HeaderNames.ENQUEUED_AT_MS, Long.toString(enqueuedAt)));

    ConsumerRecord<String, byte[]> output = await(topics.outputs(), "traced-1");
    assertThat(HeaderNames.get(output.headers(), HeaderNames.TRACEPARENT)).hasValueSatisfying(
        tp -> assertThat(tp).contains(TRACE_ID));
    assertThat(HeaderNames.get(output.headers(), HeaderNames.CONTENT_TYPE)).contains("image/png");
    assertThat(ImageIO.read(new ByteArrayInputStream(output.value())).getWidth()).isEqualTo(32);
    JsonNode meta = codec.parseTree(output.headers().lastHeader("inferpipe-result").value());
    assertThat(meta.get("seed").asLong()).isEqualTo(3);
    assertThat(meta.get("trace_id").asString()).isEqualTo(TRACE_ID);
    assertThat(meta.toString()).doesNotContain("red circle");

    // The process span ends right after the output is acknowledged.
    awaitSpanNamed(TRACE_ID, "process inference.requests");
    List<SpanData> trace = spansOf(TRACE_ID);
    SpanData process = named(trace, "process inference.requests");
    SpanData queueWait = named(trace, "queue.wait inference.requests");
    assertThat(process.getKind()).isEqualTo(SpanKind.CONSUMER);
    assertThat(process.getParentSpanId()).isEqualTo(PRODUCER_SPAN);
    assertThat(queueWait.getParentSpanId()).isEqualTo(PRODUCER_SPAN);
    long waitedMs = (queueWait.getEndEpochNanos() - queueWait.getStartEpochNanos()) / 1_000_000;
    assertThat(waitedMs).isGreaterThanOrEqualTo(1500);
    assertThat(queueWait.getStartEpochNanos() / 1_000_000).isEqualTo(enqueuedAt);
    assertThat(process.getAttributes().asMap().toString()).contains(
        "messaging.system=kafka", "messaging.destination.name=inference.requests",
        "messaging.consumer.group.name=inferpipe-gpu-consumer", "messaging.kafka.offset=",
        "messaging.destination.partition.id=");
    assertThat(named(trace, "diffusion.sample").getParentSpanId()).isEqualTo(process.getSpanId());
    assertThat(trace.stream().filter(s -> s.getName().startsWith("diffusion.step "))).hasSize(6);
    SpanData send = trace.stream().filter(s -> s.getKind() == SpanKind.PRODUCER
        && s.getName().startsWith("inference.outputs")).findFirst().orElseThrow();
    assertThat(send.getParentSpanId()).isEqualTo(process.getSpanId());

    List<JobStatus> statuses = awaitAll(topics.status(), "traced-1", 1).stream()
        .map(r -> codec.decodeStatus(r.value())).toList();
    JobStatus running = statuses.get(0);
    assertThat(running.status()).isEqualTo(JobState.RUNNING);
    assertThat(running.queueWaitMs()).isGreaterThanOrEqualTo(1500);
    assertThat(running.traceId()).isEqualTo(TRACE_ID);
  }

  @Test
  void aPlainKafkaRecordWithoutTraceContextStartsANewTraceAndUsesTheRecordTimestamp()
      throws Exception {
    long timestamp = System.currentTimeMillis() - 2000;
    publish(null, "{\"job_id\":\"plain-1\",\"task\":\"txt2img\","
        + "\"model_id\":\"tiny-shapes-diffusion\",\"input\":{\"prompt\":\"a blue square\",\"steps\":3}}",
        timestamp, Map.of());
    ConsumerRecord<String, byte[]> output = await(topics.outputs(), "plain-1");
    String traceparent = HeaderNames.get(output.headers(), HeaderNames.TRACEPARENT).orElseThrow();
    String traceId = traceparent.split("-")[1];
    assertThat(traceId).isNotEqualTo(TRACE_ID);
    awaitSpanNamed(traceId, "process inference.requests");
    List<SpanData> trace = spansOf(traceId);
    SpanData process = named(trace, "process inference.requests");
    assertThat(process.getParentSpanContext().isValid()).isFalse();
    SpanData queueWait = named(trace, "queue.wait inference.requests");
    assertThat(queueWait.getParentSpanId()).isEqualTo(process.getSpanId());
    assertThat((queueWait.getEndEpochNanos() - queueWait.getStartEpochNanos()) / 1_000_000)
        .isGreaterThanOrEqualTo(2000);
    assertThat(queueWait.getAttributes().asMap().toString())
        .contains("queue.enqueued_at_source=record_timestamp");
  }

  @Test
  void garbageGoesToTheDlqAndDoesNotBlockThePartition() throws Exception {
    publish("garbage-1", "{not json", null, Map.of());
    publish("bad-job-1", "{\"job_id\":\"bad-job-1\",\"task\":\"txt2img\","
        + "\"model_id\":\"tiny-shapes-diffusion\",\"input\":{\"steps\":0}}", null, Map.of());
    publish("after-1", txt2img("after-1", 2), null, Map.of());

    ConsumerRecord<String, byte[]> garbage = await(topics.dlq(), "garbage-1");
    assertThat(new String(garbage.value(), StandardCharsets.UTF_8)).isEqualTo("{not json");
    assertThat(HeaderNames.get(garbage.headers(), HeaderNames.ERROR_CODE)).contains("INVALID_JSON");
    assertThat(HeaderNames.get(garbage.headers(), HeaderNames.ERROR_MESSAGE)).isPresent();
    assertThat(HeaderNames.get(garbage.headers(), "dlq-source-topic")).contains("inference.requests");

    ConsumerRecord<String, byte[]> badJob = await(topics.dlq(), "bad-job-1");
    assertThat(HeaderNames.get(badJob.headers(), HeaderNames.ERROR_CODE)).contains("INVALID_JOB");
    assertThat(HeaderNames.get(badJob.headers(), HeaderNames.ERROR_MESSAGE))
        .hasValueSatisfying(m -> assertThat(m).contains("input.prompt", "input.steps"));
    JobStatus failed = codec.decodeStatus(await(topics.status(), "bad-job-1").value());
    assertThat(failed.status()).isEqualTo(JobState.FAILED);
    assertThat(failed.error().code().name()).isEqualTo("INVALID_JOB");

    assertThat(await(topics.outputs(), "after-1").value()).isNotEmpty();
  }

  @Test
  void answersAVqaJobWhoseImageIsInS3() throws Exception {
    String scene = TestScenes.png(96, TestScenes.GREY,
        new TestScenes.Shape(TestScenes.Kind.TRIANGLE, TestScenes.YELLOW, 30, 62, 40));
    try (var client = s3.client()) {
      client.putObject(b -> b.bucket("scenes").key("q/scene.png"),
          RequestBody.fromBytes(Base64.getDecoder().decode(scene)));
    }
    publish("vqa-1", "{\"job_id\":\"vqa-1\",\"task\":\"vqa\",\"model_id\":\"tiny-shapes-vqa\","
        + "\"input\":{\"image\":\"s3://scenes/q/scene.png\",\"question\":\"what colour is the triangle?\"}}",
        null, Map.of());
    ConsumerRecord<String, byte[]> output = await(topics.outputs(), "vqa-1");
    JsonNode answer = codec.parseTree(output.value());
    assertThat(answer.get("answer").asString()).isEqualTo("yellow");
    assertThat(answer.get("confidence").asDouble()).isGreaterThan(0.5);
    assertThat(HeaderNames.get(output.headers(), HeaderNames.CONTENT_TYPE)).contains("application/json");

    publish("vqa-bad", "{\"job_id\":\"vqa-bad\",\"task\":\"vqa\",\"model_id\":\"tiny-shapes-vqa\","
        + "\"input\":{\"image\":\"s3://scenes/missing.png\",\"question\":\"what colour is the triangle?\"}}",
        null, Map.of());
    Optional<JobStatus> failed = awaitAll(topics.status(), "vqa-bad", 2).stream()
        .map(r -> codec.decodeStatus(r.value())).filter(s -> s.status() == JobState.FAILED).findFirst();
    assertThat(failed).hasValueSatisfying(s ->
        assertThat(s.error().code().name()).isEqualTo("INVALID_IMAGE"));
  }

  @Test
  void aJobWaitingLongerThanItsTtlExpiresWithoutRunning() throws Exception {
    publish("ttl-1", "{\"job_id\":\"ttl-1\",\"ttl_seconds\":1,\"task\":\"txt2img\","
        + "\"model_id\":\"tiny-shapes-diffusion\",\"input\":{\"prompt\":\"a red circle\",\"steps\":2}}",
        null, Map.of(HeaderNames.ENQUEUED_AT_MS, Long.toString(System.currentTimeMillis() - 5000)));
    publish("after-ttl", txt2img("after-ttl", 2), null, Map.of());
    await(topics.outputs(), "after-ttl");
    JobStatus expired = codec.decodeStatus(await(topics.status(), "ttl-1").value());
    assertThat(expired.status()).isEqualTo(JobState.EXPIRED);
    assertThat(expired.error().code().name()).isEqualTo("TIMEOUT");
    assertThat(expired.queueWaitMs()).isGreaterThanOrEqualTo(5000);
    assertThat(outputsFor("ttl-1")).isEmpty();
  }

  @Test
  void aJobCancelledWhileQueuedIsSkippedAndOneCancelledWhileRunningStops() throws Exception {
    // Cancelled before the consumer takes it: the API's CANCELLED status is all there is.
    // As the API does it: a signed record, and a CANCELLED status with the same owner.
    String hash = "c".repeat(64);
    publishStatus(cancelledStatus("cancel-queued", hash));
    Thread.sleep(500); // the consumer's status table reads it
    byte[] body = txt2img("cancel-queued", 2).getBytes(StandardCharsets.UTF_8);
    RecordHeaders signed = new RecordHeaders();
    HeaderNames.put(signed, HeaderNames.REQUEST_SHA256, hash);
    HeaderNames.put(signed, HeaderNames.SIGNATURE, new dev.inferpipe.core.kafka.RecordSigner(
        dev.inferpipe.core.config.DeploymentKeys.from(Env.of(keys)).signingKey())
        .sign("cancel-queued", hash, null, body));
    publisher.send(new ProducerRecord<>(topics.requests(), null, "cancel-queued", body, signed)).get();
    publish("after-cancel", txt2img("after-cancel", 2), null, Map.of());
    await(topics.outputs(), "after-cancel");
    assertThat(outputsFor("cancel-queued")).isEmpty();
    assertThat(statusesFor("cancel-queued")).extracting(JobStatus::status)
        .containsOnly(JobState.CANCELLED);

    // Cancelled while sampling 200 steps: it stops between steps; the API's CANCELLED stays the
    // job's only terminal status.
    publish("cancel-running", txt2img("cancel-running", 200), null, Map.of());
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (statusesFor("cancel-running").stream().noneMatch(st -> st.status() == JobState.RUNNING)) {
      assertThat(System.nanoTime()).isLessThan(deadline);
      Thread.sleep(50);
    }
    // The API cancels from the job's own status: same tenant, same request hash.
    JobStatus running = statusesFor("cancel-running").stream()
        .filter(st -> st.status() == JobState.RUNNING).findFirst().orElseThrow();
    publishStatus(running.ended(JobState.CANCELLED, null, java.time.Instant.now()));
    SpanData stopped = null;
    while (stopped == null) {
      assertThat(System.nanoTime()).isLessThan(deadline);
      Thread.sleep(50);
      stopped = spans.getFinishedSpanItems().stream()
          .filter(sp -> sp.getName().equals("process inference.requests") && "cancel-running"
              .equals(sp.getAttributes().get(io.opentelemetry.api.common.AttributeKey.stringKey("job.id"))))
          .findFirst().orElse(null);
    }
    String traceId = stopped.getTraceId();
    assertThat(stopped.getAttributes().get(io.opentelemetry.api.common.AttributeKey.booleanKey(
        "job.cancelled"))).isTrue();
    assertThat(spans.getFinishedSpanItems().stream()
        .filter(sp -> sp.getTraceId().equals(traceId) && sp.getName().startsWith("diffusion.step")))
        .as("stopped between steps, well before 200").hasSizeLessThan(200);
    publish("after-running-cancel", txt2img("after-running-cancel", 2), null, Map.of());
    await(topics.outputs(), "after-running-cancel");
    assertThat(outputsFor("cancel-running")).isEmpty();
    assertThat(statusesFor("cancel-running")).extracting(JobStatus::status)
        .containsExactly(JobState.RUNNING, JobState.CANCELLED);
  }

  private JobStatus cancelledStatus(String jobId, String requestHash) {
    java.time.Instant now = java.time.Instant.now();
    return new JobStatus(jobId, JobState.CANCELLED, dev.inferpipe.core.job.Task.TXT2IMG,
        "tiny-shapes-diffusion", requestHash, null, now, null, now, null, null, null, null, null,
        now, null, null);
  }

  private void publishStatus(JobStatus status) throws Exception {
    publisher.send(new ProducerRecord<>(topics.status(), status.jobId(), codec.encode(status))).get();
  }

  private List<ConsumerRecord<String, byte[]>> readAll(String topic, String key) {
    return readAll(topic).stream().filter(r -> key.equals(r.key())).toList();
  }

  private List<ConsumerRecord<String, byte[]>> outputsFor(String key) {
    return readAll(topics.outputs(), key);
  }

  private List<JobStatus> statusesFor(String key) {
    return readAll(topics.status(), key).stream().map(r -> codec.decodeStatus(r.value())).toList();
  }

  @Test
  void everyHostileRecordEndsInItsDocumentedPlaceAndNothingStalls() throws Exception {
    List<dev.inferpipe.embedded.HostileInputs.Entry> corpus = dev.inferpipe.embedded.HostileInputs.load();
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < corpus.size(); i++) {
      var entry = corpus.get(i);
      String key = "hostile-" + i;
      keys.add(key);
      if (entry.topic().has("skip")) {
        continue;
      }
      RecordHeaders headers = new RecordHeaders();
      if (entry.traceparent() != null) {
        HeaderNames.put(headers, HeaderNames.TRACEPARENT, entry.traceparent());
      }
      publisher.send(new ProducerRecord<>(topics.requests(), null, key, entry.body(), headers)).get();
    }
    publish("after-hostile", txt2img("after-hostile", 2), null, Map.of());
    await(topics.outputs(), "after-hostile");

    Map<String, ConsumerRecord<String, byte[]>> dlq = new java.util.HashMap<>();
    readAll(topics.dlq()).forEach(r -> dlq.put(r.key(), r));
    Map<String, List<JobStatus>> statuses = new java.util.HashMap<>();
    readAll(topics.status()).forEach(r -> statuses.computeIfAbsent(r.key(), k -> new ArrayList<>())
        .add(codec.decodeStatus(r.value())));
    java.util.Set<String> outputs = new java.util.HashSet<>();
    readAll(topics.outputs()).forEach(r -> outputs.add(r.key()));
    for (int i = 0; i < corpus.size(); i++) {
      var expected = corpus.get(i).topic();
      String key = keys.get(i);
      String name = corpus.get(i).name();
      if (expected.has("dlq_code")) {
        assertThat(dlq).as(name).containsKey(key);
        assertThat(HeaderNames.get(dlq.get(key).headers(), HeaderNames.ERROR_CODE)).as(name)
            .contains(expected.get("dlq_code").asString());
        assertThat(dlq.get(key).value()).as(name + " keeps the original bytes")
            .isEqualTo(corpus.get(i).body());
        assertThat(outputs).as(name).doesNotContain(key);
      } else if (expected.has("status")) {
        assertThat(statuses.getOrDefault(key, List.of())).as(name).anySatisfy(st -> {
          assertThat(st.status().name()).isEqualTo(expected.get("status").asString());
          assertThat(st.error().code().name()).isEqualTo(expected.get("code").asString());
        });
        assertThat(outputs).as(name).doesNotContain(key);
      } else if (expected.has("output")) {
        assertThat(outputs).as(name).contains(key);
      }
    }
  }

  private List<ConsumerRecord<String, byte[]>> readAll(String topic) {
    return dev.inferpipe.embedded.TopicReader.readAll(kafka.bootstrapServers(), topic);
  }

  @Test
  void managementPortServesMetricsAndReadiness() throws Exception {
    publish("metrics-1", txt2img("metrics-1", 2), null, Map.of());
    await(topics.outputs(), "metrics-1");
    HttpClient http = HttpClient.newHttpClient();
    String base = "http://localhost:" + consumer.managementPort();
    assertThat(http.send(HttpRequest.newBuilder(URI.create(base + "/readyz")).build(),
        HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
    String metrics = http.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString()).body();
    assertThat(metrics).contains(
        "inference_request_duration_seconds_count{model=\"tiny-shapes-diffusion\",service=\"gpu-consumer\",status=\"completed\",task=\"txt2img\"}",
        "inference_queue_wait_seconds_count{",
        "inference_sampling_step_seconds_bucket{",
        "inference_model_load_seconds_count{",
        "inference_model_cache_hit_ratio{",
        "inference_jobs_total{",
        "process_memory_peak_bytes{",
        "kafka_consumer_fetch_manager_records_lag_max");
  }
}
