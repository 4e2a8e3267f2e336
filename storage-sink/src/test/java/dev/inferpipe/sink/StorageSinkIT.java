package dev.inferpipe.sink;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inferpipe.core.config.Env;
import dev.inferpipe.core.config.Topics;
import dev.inferpipe.core.job.JobCodec;
import dev.inferpipe.core.job.JobId;
import dev.inferpipe.core.job.JobState;
import dev.inferpipe.core.job.JobStatus;
import dev.inferpipe.core.job.OutputMetadata;
import dev.inferpipe.core.job.Task;
import dev.inferpipe.core.kafka.HeaderNames;
import dev.inferpipe.core.kafka.TopicProvisioner;
import dev.inferpipe.core.telemetry.Telemetry;
import dev.inferpipe.embedded.EmbeddedKafka;
import dev.inferpipe.embedded.EmbeddedS3;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.s3.S3Client;
import tools.jackson.databind.JsonNode;

class StorageSinkIT {
  private static final String BUCKET = "inferpipe-outputs";
  private static final String TRACE_ID = "0af7651916cd43dd8448eb211c80319c";

  @TempDir Path dir;
  private final JobCodec codec = new JobCodec();
  private final Topics topics = Topics.defaults();
  private final InMemorySpanExporter spans = InMemorySpanExporter.create();
  private EmbeddedKafka kafka;
  private EmbeddedS3 s3;
  private Telemetry telemetry;
  private StorageSink sink;
  private KafkaProducer<String, byte[]> publisher;

  @BeforeEach
  void start() throws Exception {
    kafka = EmbeddedKafka.create(dir.resolve("kafka"), 0).start();
    s3 = EmbeddedS3.onDisk(dir.resolve("s3"), 0).start();
    s3.createBucket(BUCKET);
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
      TopicProvisioner.ensureTopics(admin, topics, 2, (short) 1);
    }
    publisher = new KafkaProducer<>(Map.of("bootstrap.servers", kafka.bootstrapServers()),
        new StringSerializer(), new ByteArraySerializer());
  }

  private void startSink(int maxAttempts) {
    Map<String, String> env = new HashMap<>(s3.clientEnv());
    env.putAll(dev.inferpipe.core.config.DeploymentKeys.randomEnv());
    env.putAll(Map.of(
        "KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrapServers(),
        "INFERPIPE_SINK_MANAGEMENT_PORT", "0",
        "INFERPIPE_S3_BUCKET", BUCKET,
        "INFERPIPE_SINK_MAX_ATTEMPTS", Integer.toString(maxAttempts),
        "INFERPIPE_SINK_FIRST_BACKOFF", "100ms",
        "INFERPIPE_SINK_MAX_BACKOFF", "1s"));
    telemetry = Telemetry.builder(StorageSink.SERVICE_NAME).env(Env.of(env))
        .addSpanProcessor(SimpleSpanProcessor.create(spans)).build();
    sink = StorageSink.start(Env.of(env), telemetry);
  }

  @AfterEach
  void stop() {
    publisher.close();
    if (sink != null) {
      sink.close();
      telemetry.close();
    }
    s3.close();
    kafka.close();
  }

  private static OutputMetadata meta(String jobId, Task task, String file, String type) {
    Instant t = Instant.parse("2026-11-21T10:00:00Z");
    return new OutputMetadata(jobId, task, task == Task.TXT2IMG ? "tiny-shapes-diffusion"
        : "tiny-shapes-vqa", "abc123", TRACE_ID, t, t.plusMillis(40), 40, 900, file, type,
        "hash", 7L, 25, "ddim", 3.0, 32, 32, 0, task == Task.VQA ? "red" : null,
        task == Task.VQA ? 0.97 : null, task == Task.VQA ? false : null, null, null, null);
  }

  private static final byte[] PNG_MAGIC = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

  private static byte[] png(int... body) {
    byte[] bytes = java.util.Arrays.copyOf(PNG_MAGIC, PNG_MAGIC.length + body.length);
    for (int i = 0; i < body.length; i++) {
      bytes[PNG_MAGIC.length + i] = (byte) body[i];
    }
    return bytes;
  }

  /** What the consumer publishes before the output: the job's RUNNING status (hash abc123). */
  private void announceRunning(String jobId, Task task) throws Exception {
    Instant t = Instant.parse("2026-11-21T10:00:00Z");
    JobStatus running = new JobStatus(jobId, JobState.RUNNING, task,
        task == Task.TXT2IMG ? "tiny-shapes-diffusion" : "tiny-shapes-vqa", "abc123", TRACE_ID, t,
        t.plusMillis(40), null, 40L, null, null, null, null, t.plusMillis(40), null, null);
    publisher.send(new ProducerRecord<>(topics.status(), jobId, codec.encode(running))).get();
  }

  /** A CANCELLED status of a txt2img job with hash abc123, as the API publishes it. */
  private static JobStatus cancelled(String jobId) {
    Instant now = Instant.now();
    return new JobStatus(jobId, JobState.CANCELLED, Task.TXT2IMG, "tiny-shapes-diffusion",
        "abc123", TRACE_ID, now, now, now, 40L, null, null, null, null, now, null, null);
  }

  /** The job's first terminal status on the topic (RUNNING and STORING come before it). */
  private JobStatus awaitTerminal(String jobId) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      for (ConsumerRecord<String, byte[]> r : dev.inferpipe.embedded.TopicReader.readAll(
          kafka.bootstrapServers(), topics.status())) {
        if (jobId.equals(r.key()) && codec.decodeStatus(r.value()).status().isTerminal()) {
          return codec.decodeStatus(r.value());
        }
      }
      Thread.sleep(100);
    }
    throw new AssertionError("no terminal status for " + jobId);
  }

  private List<JobState> statesOf(String jobId) {
    return dev.inferpipe.embedded.TopicReader.readAll(kafka.bootstrapServers(), topics.status())
        .stream().filter(r -> jobId.equals(r.key())).map(r -> codec.decodeStatus(r.value()).status())
        .toList();
  }

  private void publishOutput(String jobId, byte[] value, OutputMetadata meta) throws Exception {
    if (meta != null && JobId.isValid(jobId) && statesOf(jobId).isEmpty()) {
      announceRunning(jobId, meta.task());
    }
    publishUnannounced(jobId, value, meta);
  }

  private void publishUnannounced(String jobId, byte[] value, OutputMetadata meta) throws Exception {
    RecordHeaders headers = new RecordHeaders();
    HeaderNames.put(headers, "traceparent", "00-" + TRACE_ID + "-b7ad6b7169203331-01");
    if (meta != null) {
      headers.add(OutputMetadata.HEADER, codec.encode(meta));
    }
    publisher.send(new ProducerRecord<>(topics.outputs(), null, jobId, value, headers)).get();
  }

  private List<ConsumerRecord<String, byte[]>> await(String topic, String key, int count) {
    List<ConsumerRecord<String, byte[]>> found = dev.inferpipe.embedded.TopicReader.awaitKey(
        kafka.bootstrapServers(), topic, key, count, Duration.ofSeconds(60));
    assertThat(found).as("%s on %s", key, topic).hasSizeGreaterThanOrEqualTo(count);
    return found;
  }

  @Test
  void storesTheOutputAndResultThenPublishesSucceeded() throws Exception {
    startSink(3);
    byte[] png = png(9, 9);
    publishOutput("job-1", png, meta("job-1", Task.TXT2IMG, "image.png", "text/html"));

    JobStatus done = awaitTerminal("job-1");
    assertThat(done.status()).isEqualTo(JobState.SUCCEEDED);
    assertThat(done.outputLocation()).isEqualTo("s3://" + BUCKET + "/outputs/job-1/image.png");
    assertThat(done.inferenceMs()).isEqualTo(900);
    assertThat(done.traceId()).isEqualTo(TRACE_ID);
    try (S3Client client = s3.client()) {
      var object = client.getObjectAsBytes(b -> b.bucket(BUCKET).key("outputs/job-1/image.png"));
      assertThat(object.asByteArray()).isEqualTo(png);
      // From the file name, not from the header's "text/html".
      assertThat(object.response().contentType()).isEqualTo("image/png");
      JsonNode result = codec.parseTree(client.getObjectAsBytes(
          b -> b.bucket(BUCKET).key("outputs/job-1/result.json")).asByteArray());
      assertThat(result.get("output_location").asString()).endsWith("outputs/job-1/image.png");
      assertThat(result.get("job").get("seed").asLong()).isEqualTo(7);
      assertThat(result.get("job").get("trace_id").asString()).isEqualTo(TRACE_ID);
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (spans.getFinishedSpanItems().stream().noneMatch(s -> s.getTraceId().equals(TRACE_ID)
        && s.getName().equals("process inference.outputs")) && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    List<SpanData> trace = spans.getFinishedSpanItems().stream()
        .filter(s -> s.getTraceId().equals(TRACE_ID)).toList();
    SpanData process = trace.stream().filter(s -> s.getName().equals("process inference.outputs"))
        .findFirst().orElseThrow();
    assertThat(process.getParentSpanId()).isEqualTo("b7ad6b7169203331");
    assertThat(trace.stream().filter(s -> s.getName().equals("s3.put_object")))
        .hasSize(2).allSatisfy(s -> {
          assertThat(s.getParentSpanId()).isEqualTo(process.getSpanId());
          assertThat(s.getAttributes().asMap().toString()).contains("aws.s3.bucket=" + BUCKET);
        });
    assertThat(trace).anySatisfy(s -> {
      assertThat(s.getName()).isEqualTo("inference.status publish");
      assertThat(s.getParentSpanId()).isEqualTo(process.getSpanId());
    });

    assertThat(done.storageRetries()).isZero();

    // Redelivery of an output whose job already ended (a crash after the status, before the
    // commit) is recognised from the status topic: no second write, no second terminal status.
    publishOutput("job-1", png, meta("job-1", Task.TXT2IMG, "image.png", "image/png"));
    String metrics = "";
    long dedupBy = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!metrics.contains("inference_sink_duplicates_total{service=\"storage-sink\"} 1.0")
        && System.nanoTime() < dedupBy) {
      Thread.sleep(50);
      metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
          URI.create("http://localhost:" + sink.managementPort() + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString()).body();
    }
    assertThat(metrics).contains("inference_sink_duplicates_total{service=\"storage-sink\"} 1.0",
        "inference_s3_put_seconds_count", "inference_s3_put_bytes_total",
        "inference_jobs_total{model=\"tiny-shapes-diffusion\",service=\"storage-sink\",status=\"SUCCEEDED\",task=\"txt2img\"} 1.0");
    assertThat(statesOf("job-1"))
        .containsExactly(JobState.RUNNING, JobState.STORING, JobState.SUCCEEDED);
    try (S3Client client = s3.client()) {
      assertThat(client.listObjectsV2(b -> b.bucket(BUCKET).prefix("outputs/job-1/")).contents())
          .hasSize(2);
    }
  }

  @Test
  void retriesWhileS3IsDownThenSucceeds() throws Exception {
    startSink(10);
    s3.stop();
    OutputMetadata claimsBlue = new OutputMetadata("job-2", Task.VQA, "tiny-shapes-vqa", "abc123",
        TRACE_ID, Instant.now(), Instant.now(), 40, 900, "answer.json", "application/json", null,
        null, null, null, null, null, null, 0, "blue", 0.9, false, "someone-else", null, null);
    publishOutput("job-2", "{\"answer\":\"red\"}".getBytes(StandardCharsets.UTF_8), claimsBlue);
    Thread.sleep(2000);
    s3.start();
    JobStatus done = awaitTerminal("job-2");
    assertThat(done.status()).isEqualTo(JobState.SUCCEEDED);
    // The answer comes from the stored answer.json, the tenant from the status table.
    assertThat(done.answer()).isEqualTo("red");
    assertThat(done.tenant()).isNull();
    assertThat(done.storageRetries()).as("retries are in the status").isPositive();
    assertThat(spans.getFinishedSpanItems().stream()
        .filter(s -> s.getName().equals("s3.put_object")
            && s.getStatus().getStatusCode() == io.opentelemetry.api.trace.StatusCode.ERROR))
        .isNotEmpty();
  }

  @Test
  void s3DownPastTheBoundFailsTheJobAndKeepsTheOutputInTheDlq() throws Exception {
    startSink(2);
    s3.stop();
    publishOutput("job-3", png(1, 2, 3), meta("job-3", Task.TXT2IMG, "image.png", "image/png"));
    JobStatus failed = awaitTerminal("job-3");
    assertThat(failed.status()).isEqualTo(JobState.FAILED);
    assertThat(failed.error().code().name()).isEqualTo("UNAVAILABLE");
    // The output and result.json are written side by side: each retried once (2 attempts).
    assertThat(failed.storageRetries()).isEqualTo(2);
    ConsumerRecord<String, byte[]> dead = await(topics.dlq(), "job-3", 1).get(0);
    assertThat(dead.value()).isEqualTo(png(1, 2, 3));
    assertThat(HeaderNames.get(dead.headers(), HeaderNames.ERROR_CODE)).contains("UNAVAILABLE");
  }

  @Test
  void outputsWithoutUsableMetadataGoToTheDlq() throws Exception {
    startSink(2);
    publishOutput("job-4", new byte[] {1}, null);
    publishOutput("job-5", new byte[] {1}, meta("../../etc", Task.TXT2IMG, "image.png", "image/png"));
    publishOutput("job-6", new byte[] {1}, meta("job-6", Task.TXT2IMG, "../x.png", "image/png"));
    assertThat(HeaderNames.get(await(topics.dlq(), "job-4", 1).get(0).headers(),
        HeaderNames.ERROR_MESSAGE)).hasValueSatisfying(m -> assertThat(m).contains("no inferpipe-result"));
    assertThat(HeaderNames.get(await(topics.dlq(), "job-5", 1).get(0).headers(),
        HeaderNames.ERROR_MESSAGE)).hasValueSatisfying(m -> assertThat(m).contains("unsafe"));
    assertThat(HeaderNames.get(await(topics.dlq(), "job-6", 1).get(0).headers(),
        HeaderNames.ERROR_MESSAGE)).hasValueSatisfying(m -> assertThat(m).contains("output_file"));
  }

  @Test
  void anOutputOfAJobCancelledMeanwhileIsNotStored() throws Exception {
    startSink(3);
    JobStatus cancelled = cancelled("job-7");
    publisher.send(new ProducerRecord<>(topics.status(), "job-7", codec.encode(cancelled))).get();
    Thread.sleep(500); // the sink's status table reads it
    publishUnannounced("job-7", png(1, 2), meta("job-7", Task.TXT2IMG, "image.png", "image/png"));
    publishOutput("job-8", png(3, 4), meta("job-8", Task.TXT2IMG, "image.png", "image/png"));

    // job-8 after it is stored, so job-7 was handled (and skipped) before.
    assertThat(awaitTerminal("job-8").status()).isEqualTo(JobState.SUCCEEDED);
    assertThat(dev.inferpipe.embedded.TopicReader.readAll(kafka.bootstrapServers(), topics.status())
        .stream().filter(r -> "job-7".equals(r.key())).map(r -> codec.decodeStatus(r.value()).status()))
        .containsExactly(JobState.CANCELLED);
    try (S3Client client = s3.client()) {
      assertThat(client.listObjectsV2(b -> b.bucket(BUCKET).prefix("outputs/job-7/")).contents())
          .isEmpty();
    }
  }

  /**
   * The objects are written while the claim is decided. Here the cancel sits in an open
   * transaction when the output arrives, so the sink sees the job RUNNING, starts writing, and
   * its claim's read-back waits; once the cancel commits, it is before STORING and wins.
   */
  @Test
  void aClaimLostToACancelDeletesTheObjectsWrittenMeanwhile() throws Exception {
    startSink(3);
    announceRunning("job-11", Task.TXT2IMG);
    Thread.sleep(500); // the sink's status table reads RUNNING
    JobStatus cancelled = cancelled("job-11");
    try (KafkaProducer<String, byte[]> api = new KafkaProducer<>(Map.of(
        "bootstrap.servers", kafka.bootstrapServers(), "transactional.id", "test-cancel"),
        new StringSerializer(), new ByteArraySerializer());
        S3Client client = s3.client()) {
      api.initTransactions();
      api.beginTransaction();
      api.send(new ProducerRecord<>(topics.status(), "job-11", codec.encode(cancelled))).get();
      publishUnannounced("job-11", png(5, 6), meta("job-11", Task.TXT2IMG, "image.png", "image/png"));

      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(8);
      while (client.listObjectsV2(b -> b.bucket(BUCKET).prefix("outputs/job-11/")).keyCount() < 2
          && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertThat(client.listObjectsV2(b -> b.bucket(BUCKET).prefix("outputs/job-11/")).contents())
          .as("written before the claim is decided").hasSize(2);
      api.commitTransaction();

      publishOutput("job-12", png(7, 8), meta("job-12", Task.TXT2IMG, "image.png", "image/png"));
      assertThat(awaitTerminal("job-12").status()).isEqualTo(JobState.SUCCEEDED);
      assertThat(statesOf("job-11")).doesNotContain(JobState.SUCCEEDED)
          .contains(JobState.STORING).last().isEqualTo(JobState.CANCELLED);
      assertThat(client.listObjectsV2(b -> b.bucket(BUCKET).prefix("outputs/job-11/")).contents())
          .isEmpty();
    }
  }

  /** A sink that died after writing a cancelled job's objects: the next delivery deletes them. */
  @Test
  void aCancelledJobsStrayObjectsAreDeletedWhenItsOutputComesAgain() throws Exception {
    startSink(3);
    JobStatus cancelled = cancelled("job-13");
    publisher.send(new ProducerRecord<>(topics.status(), "job-13", codec.encode(cancelled))).get();
    try (S3Client client = s3.client()) {
      for (String name : List.of("image.png", "result.json")) {
        client.putObject(b -> b.bucket(BUCKET).key("outputs/job-13/" + name),
            software.amazon.awssdk.core.sync.RequestBody.fromBytes(png(1)));
      }
      Thread.sleep(500); // the sink's status table reads CANCELLED
      publishUnannounced("job-13", png(1, 2), meta("job-13", Task.TXT2IMG, "image.png", "image/png"));
      publishOutput("job-14", png(3, 4), meta("job-14", Task.TXT2IMG, "image.png", "image/png"));

      assertThat(awaitTerminal("job-14").status()).isEqualTo(JobState.SUCCEEDED);
      assertThat(statesOf("job-13")).containsExactly(JobState.CANCELLED);
      assertThat(client.listObjectsV2(b -> b.bucket(BUCKET).prefix("outputs/job-13/")).contents())
          .isEmpty();
    }
  }

  @Test
  void anOutputOfTheDocumentedEightMebibytesIsStored() throws Exception {
    startSink(3);
    byte[] big = java.util.Arrays.copyOf(png(1), dev.inferpipe.core.kafka.RecordLimits.MAX_OUTPUT_BYTES);
    for (int i = PNG_MAGIC.length; i < big.length; i++) {
      big[i] = (byte) (i * 31);
    }
    try (KafkaProducer<String, byte[]> large = new KafkaProducer<>(Map.of(
        "bootstrap.servers", kafka.bootstrapServers(), "max.request.size",
        dev.inferpipe.core.kafka.RecordLimits.MAX_RECORD_BYTES), new StringSerializer(),
        new ByteArraySerializer())) {
      announceRunning("job-big", Task.TXT2IMG);
      RecordHeaders headers = new RecordHeaders();
      headers.add(OutputMetadata.HEADER, codec.encode(meta("job-big", Task.TXT2IMG, "image.png",
          "image/png")));
      large.send(new ProducerRecord<>(topics.outputs(), null, "job-big", big, headers)).get();
    }
    assertThat(awaitTerminal("job-big").status()).isEqualTo(JobState.SUCCEEDED);
    try (S3Client client = s3.client()) {
      assertThat(client.headObject(b -> b.bucket(BUCKET).key("outputs/job-big/image.png"))
          .contentLength()).isEqualTo(big.length);
    }
  }

  @Test
  void forgedOutputsAreDeadLetteredAndNothingIsStoredOrReported() throws Exception {
    startSink(2);
    // Never submitted: no status announces it.
    publishUnannounced("ghost", png(1), meta("ghost", Task.TXT2IMG, "image.png", "image/png"));
    // A running job, but the output carries another request hash.
    announceRunning("victim", Task.TXT2IMG);
    OutputMetadata otherHash = new OutputMetadata("victim", Task.TXT2IMG, "tiny-shapes-diffusion",
        "f00d", TRACE_ID, Instant.now(), Instant.now(), 1, 1, "image.png", "image/png", "h", 1L, 1,
        "ddim", 1.0, 32, 32, 0, null, null, null, "attacker", null, null);
    publishUnannounced("victim", png(6, 6, 6), otherHash);
    // HTML under the image's name.
    publishOutput("html", "<script>alert(1)</script>".getBytes(StandardCharsets.UTF_8),
        meta("html", Task.TXT2IMG, "image.png", "text/html"));

    assertThat(HeaderNames.get(await(topics.dlq(), "ghost", 1).get(0).headers(),
        HeaderNames.ERROR_CODE)).contains("UNKNOWN_JOB");
    assertThat(HeaderNames.get(await(topics.dlq(), "victim", 1).get(0).headers(),
        HeaderNames.ERROR_CODE)).contains("JOB_ID_CONFLICT");
    assertThat(HeaderNames.get(await(topics.dlq(), "html", 1).get(0).headers(),
        HeaderNames.ERROR_CODE)).contains("INVALID_RECORD");
    assertThat(statesOf("ghost")).isEmpty();
    assertThat(statesOf("victim")).containsExactly(JobState.RUNNING);
    try (S3Client client = s3.client()) {
      assertThat(client.listObjectsV2(b -> b.bucket(BUCKET)).contents()).isEmpty();
    }
  }
}
