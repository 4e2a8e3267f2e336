package dev.inferpipe.faults;

import dev.inferpipe.api.ProducerApi;
import dev.inferpipe.consumer.GpuConsumerMain;
import dev.inferpipe.core.config.Env;
import dev.inferpipe.core.config.Topics;
import dev.inferpipe.core.job.JobState;
import dev.inferpipe.core.kafka.TopicProvisioner;
import dev.inferpipe.core.telemetry.Telemetry;
import dev.inferpipe.embedded.EmbeddedKafka;
import dev.inferpipe.embedded.EmbeddedS3;
import dev.inferpipe.sink.StorageSinkMain;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * The pipeline with its workers in separate JVMs: broker, S3 server and producer-api in this JVM
 * (so the test can stop and start them), gpu-consumer and storage-sink as child processes (so it
 * can SIGKILL them). Counts every S3 PUT per key and every status event per job.
 */
final class FaultStack implements AutoCloseable {
  static final String BUCKET = "inferpipe-outputs";
  static final int PARTITIONS = 4;
  /** Child JVM logs, kept after the run (the temp dir is not) for post-mortems, e.g. on CI. */
  static final Path LOG_DIR = Path.of("target", "fault-logs");

  final EmbeddedKafka kafka;
  final EmbeddedS3 s3;
  final Topics topics = Topics.defaults();
  final StatusLog statuses;
  private final Path dir;
  private final Map<String, AtomicInteger> putsPerKey = new ConcurrentHashMap<>();
  private volatile EmbeddedS3.PutListener fault = (bucket, key) -> { };
  private final List<ServiceProcess> processes = new ArrayList<>();
  private final HttpClient http = HttpClient.newBuilder()
      .connectTimeout(Duration.ofSeconds(5)).build();
  private Telemetry apiTelemetry;
  private ProducerApi api;

  FaultStack(Path dir) throws Exception {
    this.dir = dir;
    clearLogs();
    kafka = EmbeddedKafka.create(dir.resolve("kafka"), 0).start();
    // On disk, so objects survive the S3 server being stopped and started again.
    s3 = EmbeddedS3.onDisk(dir.resolve("s3"), 0).onPut((bucket, key) -> {
      putsPerKey.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
      fault.stored(bucket, key);
    }).start();
    s3.createBucket(BUCKET);
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
      TopicProvisioner.ensureTopics(admin, topics, PARTITIONS, (short) 1);
    }
    statuses = new StatusLog(kafka.bootstrapServers(), topics.status(), PARTITIONS);
    Env apiEnv = Env.of(env(Map.of("INFERPIPE_API_PORT", "0",
        "INFERPIPE_API_PUBLISH_TIMEOUT", "5s")));
    apiTelemetry = Telemetry.builder(ProducerApi.SERVICE_NAME).env(apiEnv).build();
    api = ProducerApi.start(apiEnv, apiTelemetry);
  }

  /** One run's logs: a restarted process appends to its file, a new run starts afresh. */
  private static void clearLogs() throws java.io.IOException {
    if (java.nio.file.Files.isDirectory(LOG_DIR)) {
      try (var files = java.nio.file.Files.list(LOG_DIR)) {
        for (Path file : files.toList()) {
          java.nio.file.Files.delete(file);
        }
      }
    }
  }

  /** The deployment keys every service of this stack shares. */
  final Map<String, String> keys = dev.inferpipe.core.config.DeploymentKeys.randomEnv();
  /** Signs the webhooks of this stack's jobs; receivers in the suite run on loopback. */
  final String webhookSecret = java.util.HexFormat.of().formatHex(
      java.security.SecureRandom.getSeed(32));

  /** The wiring every service gets, plus {@code extra}. */
  Map<String, String> env(Map<String, String> extra) {
    Map<String, String> env = new HashMap<>();
    env.put("KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrapServers());
    env.putAll(s3.clientEnv());
    env.put("INFERPIPE_S3_BUCKET", BUCKET);
    env.putAll(keys);
    env.put("INFERPIPE_WEBHOOK_SECRET", webhookSecret);
    env.put("INFERPIPE_WEBHOOK_ALLOW_LOOPBACK", "true");
    env.putAll(extra);
    return env;
  }

  /**
   * Rows per batch in the suite: batching on, with fewer rows than the 8 jobs most scenarios
   * submit, so jobs join and leave running batches while the faults hit.
   */
  static final int MAX_BATCH_SIZE = 4;

  /** A gpu-consumer JVM (not started); {@code name} is its pod name and log file. */
  ServiceProcess consumer(String name) {
    return service(name, GpuConsumerMain.class, "INFERPIPE_CONSUMER_MANAGEMENT_PORT", Map.of(
        "INFERPIPE_MODELS", "tiny-shapes-diffusion",
        "INFERPIPE_DEVICE", "cpu",
        "INFERPIPE_MAX_BATCH_SIZE", Integer.toString(MAX_BATCH_SIZE),
        "INFERPIPE_MODEL_CACHE_DIR", dir.resolve("model-cache-" + name).toString()));
  }

  /** A storage-sink JVM (not started). */
  ServiceProcess sink(String name) {
    return service(name, StorageSinkMain.class, "INFERPIPE_SINK_MANAGEMENT_PORT", Map.of());
  }

  /** A webhook-notifier JVM (not started): short backoff, two attempts in flight at a time. */
  ServiceProcess notifier(String name) {
    return service(name, dev.inferpipe.notifier.WebhookNotifierMain.class,
        "INFERPIPE_NOTIFIER_MANAGEMENT_PORT", Map.of(
            "INFERPIPE_WEBHOOK_FIRST_BACKOFF", "200ms",
            "INFERPIPE_WEBHOOK_CONCURRENCY", "2"));
  }

  private ServiceProcess service(String name, Class<?> main, String managementPortEnv,
      Map<String, String> settings) {
    int port = EmbeddedKafka.freePort();
    Map<String, String> extra = new HashMap<>(settings);
    extra.put("POD_NAME", name);
    extra.put(managementPortEnv, Integer.toString(port));
    ServiceProcess process = new ServiceProcess(name, main.getName(), env(extra), port,
        LOG_DIR);
    processes.add(process);
    return process;
  }

  /** Runs {@code action} after an object is stored and before S3 answers the PUT. */
  void onStored(EmbeddedS3.PutListener action) {
    fault = action;
  }

  void clearFault() {
    fault = (bucket, key) -> { };
  }

  /** Submits a txt2img job through producer-api; the API must accept it. */
  void submit(String jobId, int steps) throws Exception {
    submitJson(txt2img(jobId, "a red circle", steps, Math.abs(jobId.hashCode())));
  }

  /** Submits a txt2img job whose terminal status is POSTed to {@code webhookUrl}. */
  void submitWithWebhook(String jobId, int steps, String webhookUrl) throws Exception {
    String job = txt2img(jobId, "a red circle", steps, Math.abs(jobId.hashCode()));
    submitJson(job.substring(0, job.length() - 1) + ",\"webhook_url\":\"" + webhookUrl + "\"}");
  }

  private void submitJson(String body) throws Exception {
    HttpResponse<String> response = http.send(HttpRequest.newBuilder(
            URI.create("http://localhost:" + api.port() + "/v1/jobs"))
        .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() != 202) {
      throw new AssertionError("submit -> " + response.statusCode() + " " + response.body());
    }
  }

  /** A txt2img job for the tiny diffusion model, as JSON. */
  static String txt2img(String jobId, String prompt, int steps, long seed) {
    return "{\"job_id\":\"" + jobId + "\",\"task\":\"txt2img\","
        + "\"model_id\":\"tiny-shapes-diffusion\",\"input\":{\"prompt\":\"" + prompt + "\","
        + "\"steps\":" + steps + ",\"seed\":" + seed + "}}";
  }

  /** DELETE /v1/jobs/{id}: the API's answer (status code and body). */
  HttpResponse<String> cancel(String jobId) throws Exception {
    return http.send(HttpRequest.newBuilder(
            URI.create("http://localhost:" + api.port() + "/v1/jobs/" + jobId))
        .timeout(Duration.ofSeconds(30)).DELETE().build(), HttpResponse.BodyHandlers.ofString());
  }

  List<String> submitAll(String prefix, int count, int steps) throws Exception {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      String id = String.format("%s-%02d", prefix, i);
      submit(id, steps);
      ids.add(id);
    }
    return ids;
  }

  /** PUTs S3 answered for {@code key} so far (a redelivered output rewrites its keys). */
  int puts(String key) {
    AtomicInteger count = putsPerKey.get(key);
    return count == null ? 0 : count.get();
  }

  /** Object names under the job's output prefix. */
  List<String> objects(String jobId) {
    try (S3Client client = s3.client()) {
      return client.listObjectsV2(b -> b.bucket(BUCKET).prefix("outputs/" + jobId + "/"))
          .contents().stream().map(S3Object::key)
          .map(k -> k.substring(("outputs/" + jobId + "/").length())).sorted().toList();
    }
  }

  /** What the faults did to {@code jobIds}: the numbers of one row of the report. */
  FaultReport.Row outcome(String fault, Collection<String> jobIds, Duration recovered,
      Duration drained) {
    int terminal = 0;
    int duplicateTerminal = 0;
    int succeeded = 0;
    int badObjects = 0;
    int rewrites = 0;
    for (String id : jobIds) {
      long ends = statuses.terminalEvents(id);
      if (ends > 0) {
        terminal++;
      }
      duplicateTerminal += (int) Math.max(0, ends - 1);
      if (statuses.hasState(id, JobState.SUCCEEDED)) {
        succeeded++;
        if (!objects(id).equals(List.of("image.png", "result.json"))) {
          badObjects++;
        }
      }
      // result.json, not the image: the sink writes both side by side, so only result.json's
      // count is the same however the two PUTs interleave.
      rewrites += Math.max(0, puts("outputs/" + id + "/result.json") - 1);
    }
    return new FaultReport.Row(fault, jobIds.size(), terminal, succeeded,
        jobIds.size() - terminal, duplicateTerminal, badObjects, rewrites, recovered, drained);
  }

  @Override
  public void close() throws Exception {
    for (ServiceProcess process : processes) {
      process.kill();
    }
    if (api != null) {
      api.close();
      apiTelemetry.close();
    }
    statuses.close();
    s3.close();
    kafka.close();
  }
}
