package dev.inferpipe.notifier;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inferpipe.core.config.Env;
import dev.inferpipe.core.config.Topics;
import dev.inferpipe.core.job.JobCodec;
import dev.inferpipe.core.job.JobError;
import dev.inferpipe.core.job.JobState;
import dev.inferpipe.core.job.JobStatus;
import dev.inferpipe.core.job.JobWebhook;
import dev.inferpipe.core.job.Task;
import dev.inferpipe.core.job.WebhookState;
import dev.inferpipe.core.kafka.TopicProvisioner;
import dev.inferpipe.core.telemetry.Telemetry;
import dev.inferpipe.core.webhook.WebhookDelivery;
import dev.inferpipe.core.webhook.WebhookSignature;
import dev.inferpipe.embedded.EmbeddedKafka;
import dev.inferpipe.embedded.TopicReader;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * The notifier against a real KRaft broker and real HTTP receivers on loopback: statuses are
 * published on the status topic as the other services publish them.
 */
class WebhookNotifierIT {
  private static final String SECRET = "deployment-webhook-secret-0123456789abcdef";
  private static final String KEY_SECRET = "team-a-webhook-secret-abcdefghijklmnopqrstuv";

  @TempDir Path dir;
  private final JobCodec codec = new JobCodec();
  private final Topics topics = Topics.defaults();
  private EmbeddedKafka kafka;
  private KafkaProducer<String, byte[]> publisher;
  private Telemetry telemetry;
  private WebhookNotifier notifier;
  private final List<AutoCloseable> receivers = new java.util.ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    kafka = EmbeddedKafka.create(dir.resolve("kafka"), 0).start();
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
      TopicProvisioner.ensureTopics(admin, topics, 2, (short) 1);
    }
    publisher = new KafkaProducer<>(Map.of("bootstrap.servers", kafka.bootstrapServers()),
        new StringSerializer(), new ByteArraySerializer());
  }

  @AfterEach
  void stop() throws Exception {
    stopNotifier();
    publisher.close();
    for (AutoCloseable r : receivers) {
      r.close();
    }
    kafka.close();
  }

  private Receiver receiver(java.util.function.IntFunction<Receiver.Answer> script)
      throws Exception {
    Receiver r = new Receiver(script);
    receivers.add(r);
    return r;
  }

  /** Names the tests resolve: one to a private address, the rest through the system. */
  private static final HostResolver RESOLVER = host -> host.equals("internal.example.test")
      ? List.of(InetAddress.getByAddress(host, new byte[] {10, 0, 0, 1}))
      : HostResolver.system().resolve(host);

  private void startNotifier(Map<String, String> extra) throws Exception {
    Path keys = dir.resolve("keys.json");
    Files.writeString(keys, "{\"keys\":[{\"id\":\"team-a-key\",\"tenant\":\"team-a\","
        + "\"sha256\":\"" + "0".repeat(64) + "\",\"webhook\":{\"secret\":\"" + KEY_SECRET
        + "\",\"allowed_hosts\":[\"127.0.0.1\"]}}]}");
    Map<String, String> env = new HashMap<>(Map.of(
        "KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrapServers(),
        "INFERPIPE_NOTIFIER_MANAGEMENT_PORT", "0",
        "INFERPIPE_WEBHOOK_SECRET", SECRET,
        "INFERPIPE_WEBHOOK_ALLOW_LOOPBACK", "true",
        "INFERPIPE_WEBHOOK_FIRST_BACKOFF", "100ms",
        "INFERPIPE_WEBHOOK_MAX_BACKOFF", "400ms",
        "INFERPIPE_WEBHOOK_TIMEOUT", "3s",
        "INFERPIPE_API_KEYS_FILE", keys.toString()));
    env.putAll(extra);
    telemetry = Telemetry.builder(WebhookNotifier.SERVICE_NAME).env(Env.of(env)).build();
    notifier = WebhookNotifier.start(Env.of(env), telemetry, RESOLVER);
  }

  private void stopNotifier() {
    if (notifier != null) {
      notifier.close();
      telemetry.close();
      notifier = null;
    }
  }

  private JobStatus ended(String jobId, JobState state, String url, String keyId, String tenant) {
    Instant t = Instant.parse("2026-12-03T10:00:00Z");
    JobStatus queued = new JobStatus(jobId, JobState.QUEUED, Task.TXT2IMG, "tiny-shapes-diffusion",
        "hash-" + jobId, "0af7651916cd43dd8448eb211c80319c", t, null, null, null, null,
        "s3://b/outputs/" + jobId + "/", null, null, t, tenant, null,
        JobWebhook.target(url, keyId));
    JobStatus running = queued.running(t.plusMillis(20), 20);
    return state == JobState.SUCCEEDED
        ? running.succeeded(t.plusSeconds(1), 900, "s3://b/outputs/" + jobId + "/image.png", null)
        : running.ended(state, state == JobState.FAILED
            ? new JobError(dev.inferpipe.core.job.ErrorCode.INVALID_MODEL, "the model produced NaN") : null, t.plusSeconds(1));
  }

  private void publish(JobStatus status) throws Exception {
    publisher.send(new ProducerRecord<>(topics.status(), status.jobId(), codec.encode(status)))
        .get();
  }

  /** The latest delivery record per job on the webhooks topic. */
  private Map<String, WebhookDelivery> deliveries() {
    Map<String, WebhookDelivery> latest = new HashMap<>();
    for (ConsumerRecord<String, byte[]> r : TopicReader.readAll(kafka.bootstrapServers(),
        topics.webhooks())) {
      latest.put(r.key(), codec.decode(r.value(), WebhookDelivery.class));
    }
    return latest;
  }

  /** Every delivery record of the job, oldest first. */
  private List<WebhookDelivery> history(String jobId) {
    return TopicReader.readAll(kafka.bootstrapServers(), topics.webhooks()).stream()
        .filter(r -> jobId.equals(r.key()))
        .sorted(java.util.Comparator.comparingLong(ConsumerRecord::offset))
        .map(r -> codec.decode(r.value(), WebhookDelivery.class)).toList();
  }

  private WebhookDelivery awaitDelivery(String jobId, Predicate<WebhookDelivery> done)
      throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    WebhookDelivery last = null;
    while (System.nanoTime() < deadline) {
      last = deliveries().get(jobId);
      if (last != null && done.test(last)) {
        return last;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("delivery of " + jobId + " did not get there; last: " + last);
  }

  private static Predicate<WebhookDelivery> in(WebhookState state) {
    return d -> d.state() == state;
  }

  @Test
  void retriesUntilTheReceiverAnswersAndSignsEveryAttempt() throws Exception {
    Receiver receiver = receiver(n -> Receiver.Answer.of(n <= 2 ? (n == 1 ? 500 : 503) : 200));
    startNotifier(Map.of());
    JobStatus status = ended("job-retried", JobState.SUCCEEDED, receiver.url("/hooks/a"), null, null);
    publish(status);

    WebhookDelivery delivery = awaitDelivery("job-retried", in(WebhookState.DELIVERED));
    assertThat(delivery.attempts()).isEqualTo(3);
    assertThat(delivery.lastCode()).isEqualTo(200);
    assertThat(delivery.lastError()).isNull();
    assertThat(delivery.deliveredAt()).isNotNull();

    List<Receiver.Received> got = receiver.received();
    assertThat(got).hasSize(3);
    for (int i = 0; i < 3; i++) {
      Receiver.Received r = got.get(i);
      assertThat(r.path()).isEqualTo("/hooks/a");
      assertThat(r.header("Idempotency-Key")).isEqualTo("job-retried:SUCCEEDED");
      assertThat(r.header("X-Inferpipe-Event")).isEqualTo("job.succeeded");
      assertThat(r.header("X-Inferpipe-Attempt")).isEqualTo(Integer.toString(i + 1));
      assertThat(r.header("Content-Type")).startsWith("application/json");
      // The receiver's check: HMAC of the raw body with the shared secret.
      assertThat(WebhookSignature.verify(SECRET, r.body(), r.header(WebhookSignature.HEADER)))
          .isTrue();
      assertThat(WebhookSignature.verify(KEY_SECRET, r.body(), r.header(WebhookSignature.HEADER)))
          .isFalse();
      byte[] tampered = new String(r.body(), StandardCharsets.UTF_8)
          .replace("SUCCEEDED", "FAILED").getBytes(StandardCharsets.UTF_8);
      assertThat(WebhookSignature.verify(SECRET, tampered, r.header(WebhookSignature.HEADER)))
          .isFalse();
    }
    assertThat(got.get(0).body()).isEqualTo(got.get(2).body());
    JsonNode body = codec.parseTree(got.get(2).body());
    assertThat(body.get("job_id").asString()).isEqualTo("job-retried");
    assertThat(body.get("status").asString()).isEqualTo("SUCCEEDED");
    assertThat(body.get("output_location").asString())
        .isEqualTo("s3://b/outputs/job-retried/image.png");

    String metrics = telemetry.scrape(null).body();
    assertThat(metrics).contains("inference_webhook_attempts_total{outcome=\"http_error\",service=\"webhook-notifier\"} 2.0");
    assertThat(metrics).contains("inference_webhook_attempts_total{outcome=\"delivered\",service=\"webhook-notifier\"} 1.0");
    assertThat(metrics).contains("inference_webhook_deliveries_total{service=\"webhook-notifier\",state=\"DELIVERED\"} 1.0");
  }

  @Test
  void aKeysJobIsSignedWithTheKeysSecretAndKeptToItsAllowList() throws Exception {
    Receiver receiver = receiver(n -> Receiver.Answer.of(204));
    startNotifier(Map.of());
    publish(ended("job-keyed", JobState.FAILED, receiver.url("/k"), "team-a-key", "team-a"));
    publish(ended("job-off-list", JobState.FAILED, "https://hooks.example.com/k", "team-a-key",
        "team-a"));
    publish(ended("job-unknown-key", JobState.FAILED, receiver.url("/u"), "no-such-key", "team-a"));

    WebhookDelivery keyed = awaitDelivery("job-keyed", in(WebhookState.DELIVERED));
    assertThat(keyed.lastCode()).isEqualTo(204);
    Receiver.Received r = receiver.received().get(0);
    assertThat(WebhookSignature.verify(KEY_SECRET, r.body(), r.header(WebhookSignature.HEADER)))
        .isTrue();
    assertThat(codec.parseTree(r.body()).get("error").get("code").asString())
        .isEqualTo("INVALID_MODEL");

    WebhookDelivery offList = awaitDelivery("job-off-list", in(WebhookState.REFUSED));
    assertThat(offList.lastError()).contains("not on the webhook allow-list");
    assertThat(offList.attempts()).isZero();
    WebhookDelivery unknown = awaitDelivery("job-unknown-key", in(WebhookState.REFUSED));
    assertThat(unknown.lastError()).contains("no-such-key");
    assertThat(receiver.received()).hasSize(1);
  }

  @Test
  void noDuplicateNotificationsAcrossARestart() throws Exception {
    Receiver receiver = receiver(n -> Receiver.Answer.of(200));
    startNotifier(Map.of());
    for (int i = 0; i < 5; i++) {
      publish(ended("job-first-" + i, i % 2 == 0 ? JobState.SUCCEEDED : JobState.CANCELLED,
          receiver.url("/r"), null, null));
    }
    for (int i = 0; i < 5; i++) {
      awaitDelivery("job-first-" + i, in(WebhookState.DELIVERED));
    }
    stopNotifier();

    // Records the new notifier will see again or for the first time: a republished winner
    // (what a status repair writes), a late terminal event that lost, and new jobs.
    JobStatus winner = ended("job-first-0", JobState.SUCCEEDED, receiver.url("/r"), null, null);
    publish(winner);
    publish(ended("job-first-1", JobState.FAILED, receiver.url("/r"), null, null));
    startNotifier(Map.of());
    for (int i = 0; i < 2; i++) {
      publish(ended("job-second-" + i, JobState.EXPIRED, receiver.url("/r"), null, null));
    }
    for (int i = 0; i < 2; i++) {
      awaitDelivery("job-second-" + i, in(WebhookState.DELIVERED));
    }
    Thread.sleep(1000); // room for a duplicate to show up

    Map<String, Long> perKey = receiver.received().stream()
        .collect(Collectors.groupingBy(r -> r.header("Idempotency-Key"), Collectors.counting()));
    assertThat(perKey).hasSize(7).allSatisfy((key, count) -> assertThat(count).isEqualTo(1));
    assertThat(perKey).containsKeys("job-first-1:CANCELLED", "job-second-1:EXPIRED")
        .doesNotContainKey("job-first-1:FAILED");
  }

  @Test
  void aPendingDeliveryResumesAfterARestart() throws Exception {
    java.util.concurrent.atomic.AtomicBoolean healthy = new java.util.concurrent.atomic.AtomicBoolean();
    Receiver receiver = receiver(n -> Receiver.Answer.of(healthy.get() ? 200 : 503));
    startNotifier(Map.of("INFERPIPE_WEBHOOK_FIRST_BACKOFF", "300ms",
        "INFERPIPE_WEBHOOK_MAX_BACKOFF", "300ms"));
    publish(ended("job-resumed", JobState.SUCCEEDED, receiver.url("/p"), null, null));
    WebhookDelivery failing = awaitDelivery("job-resumed", d -> d.attempts() >= 2);
    assertThat(failing.state()).isEqualTo(WebhookState.PENDING);
    assertThat(failing.lastCode()).isEqualTo(503);
    stopNotifier();
    int before = deliveries().get("job-resumed").attempts();

    healthy.set(true);
    startNotifier(Map.of());
    WebhookDelivery delivered = awaitDelivery("job-resumed", in(WebhookState.DELIVERED));
    assertThat(delivered.attempts()).isEqualTo(before + 1);
    assertThat(receiver.received()).hasSize(before + 1);
    assertThat(delivered.createdAt()).isEqualTo(failing.createdAt()); // the same window
  }

  @Test
  void refusesPrivateAndLinkLocalTargetsAndDoesNotFollowRedirects() throws Exception {
    Receiver redirectTarget = receiver(n -> Receiver.Answer.of(200));
    Receiver toMetadata = receiver(n -> new Receiver.Answer(302,
        Map.of("Location", "http://169.254.169.254/latest/meta-data/")));
    Receiver toLoopback = receiver(n -> new Receiver.Answer(307,
        Map.of("Location", redirectTarget.url("/stolen"))));
    startNotifier(Map.of("INFERPIPE_WEBHOOK_RETRY_FOR", "1s"));

    publish(ended("job-metadata", JobState.SUCCEEDED, "https://169.254.169.254/latest/meta-data",
        null, null));
    publish(ended("job-private-name", JobState.SUCCEEDED, "https://internal.example.test/hook",
        null, null));
    publish(ended("job-mapped", JobState.SUCCEEDED, "https://[::ffff:10.0.0.1]/hook", null, null));
    publish(ended("job-plain-http", JobState.SUCCEEDED, "http://example.com/hook", null, null));
    publish(ended("job-redirect-metadata", JobState.SUCCEEDED, toMetadata.url("/r"), null, null));
    publish(ended("job-redirect-loopback", JobState.SUCCEEDED, toLoopback.url("/r"), null, null));

    WebhookDelivery metadata = awaitDelivery("job-metadata", in(WebhookState.REFUSED));
    assertThat(metadata.lastError()).contains("link-local address 169.254.169.254");
    WebhookDelivery privateName = awaitDelivery("job-private-name", in(WebhookState.REFUSED));
    // The job's submitter learns the kind of address, never the address itself.
    assertThat(privateName.lastError())
        .contains("internal.example.test resolves to an address webhooks may not reach"
            + " (private address)").doesNotContain("10.0.0.1");
    assertThat(awaitDelivery("job-mapped", in(WebhookState.REFUSED)).lastError())
        .contains("private address 10.0.0.1"); // the URL's own literal, checked before DNS
    assertThat(awaitDelivery("job-plain-http", in(WebhookState.REFUSED)).lastError())
        .contains("must be https");

    for (String job : List.of("job-redirect-metadata", "job-redirect-loopback")) {
      WebhookDelivery redirected = awaitDelivery(job, in(WebhookState.FAILED));
      assertThat(redirected.lastCode()).isIn(302, 307);
      assertThat(redirected.lastError()).contains("redirects are not followed");
    }
    assertThat(redirectTarget.received()).isEmpty();
    assertThat(toMetadata.received()).isNotEmpty();
    String metrics = telemetry.scrape(null).body();
    assertThat(metrics).contains("inference_webhook_deliveries_total{service=\"webhook-notifier\",state=\"REFUSED\"} 4.0");
    assertThat(metrics).contains("inference_webhook_deliveries_total{service=\"webhook-notifier\",state=\"FAILED\"} 2.0");
  }

  @Test
  void aSlowReceiverTimesOutAndAHugeAnswerIsNotReadToTheEnd() throws Exception {
    // The first answer comes after the 1 s attempt bound; later ones at once.
    Receiver slow = receiver(n -> new Receiver.Answer(200, Map.of(), n == 1 ? 4000 : 0, 2));
    // 32 MiB of answer: the notifier reads 64 KiB of it, and still counts the 200.
    Receiver huge = receiver(n -> new Receiver.Answer(200, Map.of(), 0, 32 * 1024 * 1024));
    startNotifier(Map.of("INFERPIPE_WEBHOOK_TIMEOUT", "1s"));
    long started = System.nanoTime();
    publish(ended("job-slow", JobState.SUCCEEDED, slow.url("/s"), null, null));
    publish(ended("job-huge", JobState.SUCCEEDED, huge.url("/h"), null, null));

    WebhookDelivery slowDone = awaitDelivery("job-slow", in(WebhookState.DELIVERED));
    assertThat(slowDone.attempts()).isEqualTo(2);
    WebhookDelivery timedOut = history("job-slow").stream().filter(d -> d.attempts() == 1)
        .findFirst().orElseThrow();
    assertThat(timedOut.state()).isEqualTo(WebhookState.PENDING);
    assertThat(timedOut.lastCode()).isNull();
    assertThat(timedOut.lastError()).contains("no answer");
    WebhookDelivery hugeDone = awaitDelivery("job-huge", in(WebhookState.DELIVERED));
    assertThat(hugeDone.attempts()).isEqualTo(1);
    assertThat(hugeDone.lastCode()).isEqualTo(200);
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (huge.cutOff() == 0 && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    assertThat(huge.cutOff()).as("the 32 MiB answer was cut off, not read").isEqualTo(1);
    // Neither the slow answer nor the 32 MiB held the notifier for long.
    assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(15));
    assertThat(telemetry.scrape(null).body()).contains(
        "inference_webhook_attempts_total{outcome=\"no_answer\",service=\"webhook-notifier\"} 1.0");
  }

  @Test
  void aStatusWithoutWebhookOrNotTerminalStartsNothing() throws Exception {
    Receiver receiver = receiver(n -> Receiver.Answer.of(200));
    startNotifier(Map.of());
    JobStatus noHook = ended("job-no-hook", JobState.SUCCEEDED, receiver.url("/x"), null, null)
        .withWebhook(null);
    publish(noHook);
    JobStatus running = ended("job-running", JobState.SUCCEEDED, receiver.url("/x"), null, null);
    publish(new JobStatus(running.jobId(), JobState.RUNNING, running.task(), running.modelId(),
        running.requestSha256(), running.traceId(), running.submittedAt(), running.startedAt(),
        null, running.queueWaitMs(), null, running.outputLocation(), null, null,
        running.updatedAt(), null, null, running.webhook()));
    publisher.send(new ProducerRecord<>(topics.status(), "job-garbage",
        "{not json".getBytes(StandardCharsets.UTF_8))).get();
    publish(ended("job-marker", JobState.SUCCEEDED, receiver.url("/x"), null, null));
    awaitDelivery("job-marker", in(WebhookState.DELIVERED));
    assertThat(deliveries()).containsOnlyKeys("job-marker");
    assertThat(receiver.received()).hasSize(1);
    assertThat(Optional.ofNullable(deliveries().get("job-running"))).isEmpty();
  }
}
