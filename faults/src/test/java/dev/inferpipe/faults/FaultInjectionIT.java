package dev.inferpipe.faults;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inferpipe.core.job.JobState;
import dev.inferpipe.core.job.JobStatus;
import dev.inferpipe.core.kafka.HeaderNames;
import dev.inferpipe.embedded.TopicReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real faults against the pipeline, each bounded in time and job count, loopback only. After
 * each one every accepted job must have exactly one terminal status event (read_committed, as
 * users read it), and every SUCCEEDED job exactly one output object plus its result.json. The
 * figures of every run land in {@code target/fault-report.md}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FaultInjectionIT {
  private static final Duration READY = Duration.ofSeconds(90);
  private static final Duration DRAIN = Duration.ofSeconds(150);

  private FaultStack stack;
  private ServiceProcess consumer;
  private ServiceProcess sink;

  @BeforeAll
  void startPipeline(@TempDir Path dir) throws Exception {
    stack = new FaultStack(dir);
    consumer = stack.consumer("gpu-consumer-a").start();
    sink = stack.sink("storage-sink-a").start();
    consumer.awaitReady(READY);
    sink.awaitReady(READY);
  }

  @AfterAll
  void stopPipeline() throws Exception {
    FaultReport.write(Path.of("target", "fault-report.md"));
    if (stack != null) {
      stack.close();
    }
  }

  @Test
  @Order(1)
  void consumerKilledMidSampling() throws Exception {
    List<String> jobs = stack.submitAll("kill-consumer", 8, 80);
    stack.statuses.awaitTerminalCount(jobs, 2, DRAIN);
    String victim = killWhileSampling(jobs);

    Instant restarted = Instant.now();
    consumer.start().awaitReady(READY);
    FaultReport.Row row = finish("gpu-consumer SIGKILLed mid-sampling, restarted", jobs, restarted);

    assertAllSucceededOnce(row, jobs);
    // It ran twice (RUNNING twice) but ended once.
    assertThat(stack.statuses.states(victim)).filteredOn(s -> s == JobState.RUNNING).hasSize(2);
  }

  @Test
  @Order(1)
  void consumerKilledWithAFullBatchInFlight() throws Exception {
    // Twice as many long jobs as a batch holds: all RUNNING, a full batch sampling side by side
    // and as many waiting to join, when the consumer dies; every one must run again, end once.
    int count = 2 * FaultStack.MAX_BATCH_SIZE;
    List<String> jobs = stack.submitAll("kill-batch", count, 60);
    awaitTrue(() -> jobs.stream().allMatch(id -> stack.statuses.hasState(id, JobState.RUNNING)),
        DRAIN, "all jobs RUNNING");
    Thread.sleep(500);
    assertThat(jobs).as("no job ended before the kill")
        .allMatch(id -> stack.statuses.terminal(id).isEmpty());
    consumer.kill();

    Instant restarted = Instant.now();
    consumer.start().awaitReady(READY);
    FaultReport.Row row = finish("gpu-consumer SIGKILLed with a full batch (" + FaultStack.MAX_BATCH_SIZE
        + " rows) sampling and " + FaultStack.MAX_BATCH_SIZE + " jobs waiting, restarted", jobs,
        restarted);
    assertAllSucceededOnce(row, jobs);
    assertThat(jobs).allSatisfy(id -> assertThat(stack.statuses.states(id))
        .filteredOn(s -> s == JobState.RUNNING).as(id).hasSize(2));
  }

  @Test
  @Order(2)
  void sinkKilledBetweenS3WriteAndOffsetCommit() throws Exception {
    AtomicReference<String> victim = new AtomicReference<>();
    AtomicReference<Instant> killedAt = new AtomicReference<>();
    stack.onStored((bucket, key) -> {
      // The third job's result.json is stored; the sink dies before it hears back, so neither
      // the SUCCEEDED status nor the offset commit happens.
      if (key.startsWith("outputs/kill-sink-02/") && key.endsWith("/result.json")
          && victim.compareAndSet(null, "kill-sink-02")) {
        try {
          sink.kill();
          killedAt.set(Instant.now());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    });
    List<String> jobs = stack.submitAll("kill-sink", 6, 10);
    awaitTrue(() -> killedAt.get() != null, Duration.ofSeconds(60), "sink killed");
    stack.clearFault();
    assertThat(stack.statuses.terminal("kill-sink-02")).as("no status before the kill").isEmpty();

    Instant restarted = Instant.now();
    sink.start().awaitReady(READY);
    FaultReport.Row row = finish("storage-sink SIGKILLed between S3 write and commit, restarted", jobs,
        restarted);

    assertAllSucceededOnce(row, jobs);
    // The kill came inside result.json's PUT, after S3 stored it: the redelivered output stores
    // it again. The image is written side by side with it, so before the kill it may or may not
    // have been stored yet; after the redelivery it is there.
    assertThat(stack.puts("outputs/kill-sink-02/result.json")).as("stored again on redelivery")
        .isEqualTo(2);
    assertThat(stack.puts("outputs/kill-sink-02/image.png")).isBetween(1, 2);
  }

  @Test
  @Order(3)
  void brokerStoppedAndRestartedMidStream() throws Exception {
    List<String> jobs = stack.submitAll("broker-restart", 10, 40);
    stack.statuses.awaitTerminalCount(jobs, 2, DRAIN);
    stack.kafka.stop();
    Thread.sleep(5000);
    stack.kafka.start();
    FaultReport.Row row = finish("broker stopped 5 s mid-stream, restarted", jobs, Instant.now());
    assertAllSucceededOnce(row, jobs);
  }

  @Test
  @Order(4)
  void s3UnavailableForThirtySeconds() throws Exception {
    List<String> jobs = stack.submitAll("s3-outage", 6, 10);
    stack.statuses.awaitTerminalCount(jobs, 2, DRAIN);
    stack.s3.stop();
    Thread.sleep(30_000);
    stack.s3.start();
    FaultReport.Row row = finish("S3 server down 30 s", jobs, Instant.now());

    assertAllSucceededOnce(row, jobs);
    List<Integer> retries = jobs.stream()
        .map(id -> stack.statuses.terminal(id).orElseThrow().status().storageRetries()).toList();
    assertThat(retries).as("retries are visible in the status").anyMatch(r -> r != null && r > 0);
  }

  @Test
  @Order(5)
  void sameJobIdPublishedTwice() throws Exception {
    List<String> jobs = new ArrayList<>();
    Instant start = Instant.now();
    try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(Map.of(
        "bootstrap.servers", stack.kafka.bootstrapServers(), "acks", "all"),
        new StringSerializer(), new ByteArraySerializer())) {
      for (int i = 0; i < 4; i++) {
        String id = "dup-" + i;
        jobs.add(id);
        byte[] job = job(id, "a blue square");
        producer.send(new ProducerRecord<>(stack.topics.requests(), id, job)).get();
        producer.send(new ProducerRecord<>(stack.topics.requests(), id, job)).get();
      }
      // The same id reused for a different job: the second is refused, the first left alone.
      // Their request-sha256 headers are unsigned, so not believed: the body's hash counts.
      jobs.add("dup-conflict");
      producer.send(withSha("dup-conflict", job("dup-conflict", "a red circle"), "aa")).get();
      producer.send(withSha("dup-conflict", job("dup-conflict", "a green triangle"), "aa")).get();
    }
    stack.statuses.awaitTerminal(jobs, DRAIN);
    Thread.sleep(2000); // a duplicate that was run anyway would end by now
    FaultReport.Row row = stack.outcome("same job_id published twice (4 identical, 1 conflicting)", jobs,
        null, Duration.between(start, Instant.now()));
    FaultReport.add(row);

    assertAllSucceededOnce(row, jobs);
    List<ConsumerRecord<String, byte[]>> dlq = TopicReader.readAll(
        stack.kafka.bootstrapServers(), stack.topics.dlq()).stream()
        .filter(r -> "dup-conflict".equals(r.key())).toList();
    assertThat(dlq).hasSize(1);
    assertThat(HeaderNames.get(dlq.get(0).headers(), HeaderNames.ERROR_CODE))
        .contains("JOB_ID_CONFLICT");
    assertThat(new String(dlq.get(0).value(), StandardCharsets.UTF_8)).contains("green triangle");
    JobStatus ended = stack.statuses.terminal("dup-conflict").orElseThrow().status();
    assertThat(ended.requestSha256()).isNotEqualTo("aa").hasSize(64);
    assertThat(ended.tenant()).as("a direct publication's tenant").isEqualTo("external");

    // Broken records reusing ended jobs' ids go to the DLQ without touching those jobs.
    try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(Map.of(
        "bootstrap.servers", stack.kafka.bootstrapServers(), "acks", "all"),
        new StringSerializer(), new ByteArraySerializer())) {
      producer.send(new ProducerRecord<>(stack.topics.requests(), "dup-0",
          "{not json".getBytes(StandardCharsets.UTF_8))).get();
      // Over the model's 200-step limit: a schema violation.
      producer.send(new ProducerRecord<>(stack.topics.requests(), "dup-1",
          FaultStack.txt2img("dup-1", "x", 5000, 7).getBytes(StandardCharsets.UTF_8))).get();
    }
    long deadline = System.nanoTime() + DRAIN.toNanos();
    while (TopicReader.readAll(stack.kafka.bootstrapServers(), stack.topics.dlq()).stream()
        .filter(r -> "dup-0".equals(r.key()) || "dup-1".equals(r.key())).count() < 2) {
      assertThat(System.nanoTime()).as("both broken records dead-lettered").isLessThan(deadline);
      Thread.sleep(100);
    }
    Thread.sleep(1000);
    assertThat(stack.statuses.states("dup-0"))
        .containsExactly(JobState.RUNNING, JobState.STORING, JobState.SUCCEEDED);
    assertThat(stack.statuses.states("dup-1"))
        .containsExactly(JobState.RUNNING, JobState.STORING, JobState.SUCCEEDED);
  }

  @Test
  @Order(6)
  void consumerGroupRebalancesWithJobsInFlight() throws Exception {
    List<String> jobs = stack.submitAll("rebalance", 16, 40);
    stack.statuses.awaitTerminalCount(jobs, 2, DRAIN);
    // A second replica joins while the first is sampling, then leaves again mid-stream.
    ServiceProcess second = stack.consumer("gpu-consumer-b").start();
    Instant joining = Instant.now();
    second.awaitReady(READY);
    stack.statuses.awaitTerminalCount(jobs, 10, DRAIN);
    second.stop();
    FaultReport.Row row = finish("second consumer joins, then leaves, jobs in flight", jobs, joining);
    assertAllSucceededOnce(row, jobs);
  }

  @Test
  @Order(7)
  void poisonRecordsInFrontOfTenJobs() throws Exception {
    // On every partition, before the jobs: the header that used to stop every consumer for good,
    // a record whose key is not its body's job id, and one with a forged signature.
    Instant start = Instant.now();
    List<String> poisoned = new ArrayList<>();
    try (KafkaProducer<String, byte[]> producer = rawProducer()) {
      for (int p = 0; p < FaultStack.PARTITIONS; p++) {
        String id = "poison-" + p;
        poisoned.add(id);
        RecordHeaders overflow = new RecordHeaders();
        overflow.add(HeaderNames.ENQUEUED_AT_MS, "-9223372036854775808".getBytes(StandardCharsets.UTF_8));
        producer.send(new ProducerRecord<>(stack.topics.requests(), p, id, job(id, "a red circle"),
            overflow)).get();
        producer.send(new ProducerRecord<>(stack.topics.requests(), p, "not-" + id,
            job(id, "a red circle"))).get();
        RecordHeaders forged = new RecordHeaders();
        forged.add(HeaderNames.SIGNATURE, "v1=00".getBytes(StandardCharsets.UTF_8));
        forged.add(HeaderNames.TENANT, "acme".getBytes(StandardCharsets.UTF_8));
        producer.send(new ProducerRecord<>(stack.topics.requests(), p, "forged-" + p,
            job("forged-" + p, "a red circle"), forged)).get();
      }
    }
    List<String> jobs = stack.submitAll("after-poison", 10, 5);
    stack.statuses.awaitTerminal(poisoned, DRAIN);
    FaultReport.Row row = finish("poison records (overflowing enqueue time, key mismatch, forged"
        + " signature) on every partition in front of 10 jobs", jobs, start);
    assertAllSucceededOnce(row, jobs);
    // The overflowing header is ignored, so that job runs too (as a direct publication).
    assertThat(poisoned).allSatisfy(id ->
        assertThat(stack.statuses.hasState(id, JobState.SUCCEEDED)).as(id).isTrue());
    assertThat(dlqCodes("not-poison-")).hasSize(FaultStack.PARTITIONS).containsOnly("INVALID_RECORD");
    assertThat(dlqCodes("forged-")).hasSize(FaultStack.PARTITIONS).containsOnly("UNAUTHENTICATED");
    assertThat(consumer.isAlive()).isTrue();
    assertThat(consumer.healthz()).as("liveness").isEqualTo(200);
  }

  @Test
  @Order(8)
  void overSizeRecordInFrontOfTenJobs() throws Exception {
    Instant start = Instant.now();
    // Just under the topics' 10 MiB: accepted, but its DLQ copy (extra headers) cannot fit whole.
    byte[] huge = new byte[dev.inferpipe.core.kafka.RecordLimits.MAX_RECORD_BYTES - 300];
    java.util.Arrays.fill(huge, (byte) '{');
    try (KafkaProducer<String, byte[]> producer = rawProducer()) {
      for (int p = 0; p < FaultStack.PARTITIONS; p++) {
        producer.send(new ProducerRecord<>(stack.topics.requests(), p, "huge-" + p, huge)).get();
      }
    }
    List<String> jobs = stack.submitAll("after-huge", 10, 5);
    FaultReport.Row row = finish("10 MiB record on every partition in front of 10 jobs", jobs,
        start);
    assertAllSucceededOnce(row, jobs);
    List<ConsumerRecord<String, byte[]>> dead = dlq("huge-");
    assertThat(dead).hasSize(FaultStack.PARTITIONS).allSatisfy(r -> {
      assertThat(HeaderNames.get(r.headers(), HeaderNames.ERROR_CODE)).contains("INVALID_JSON");
      assertThat(HeaderNames.get(r.headers(), HeaderNames.DLQ_ORIGINAL_VALUE_BYTES))
          .contains(Integer.toString(huge.length));
      assertThat(r.value().length).isLessThan(huge.length);
    });
  }

  @Test
  @Order(9)
  void cancelDuringTheSinksS3Retries() throws Exception {
    // S3 is down when the output arrives: the sink claims it (STORING) and retries. A cancel
    // then is refused, and the job ends once, SUCCEEDED, when S3 is back.
    stack.s3.stop();
    Instant start = Instant.now();
    List<String> jobs = stack.submitAll("cancel-storing", 1, 5);
    String id = jobs.get(0);
    awaitTrue(() -> stack.statuses.hasState(id, JobState.STORING), DRAIN, "STORING");
    Thread.sleep(1000); // into the retries
    var answer = stack.cancel(id);
    assertThat(answer.statusCode()).as(answer.body()).isEqualTo(409);
    assertThat(answer.body()).contains("JOB_STORING");
    Thread.sleep(2000);
    stack.s3.start();
    FaultReport.Row row = finish("cancel during the sink's S3 retries", jobs, start);
    assertAllSucceededOnce(row, jobs);
    assertThat(stack.statuses.states(id)).doesNotContain(JobState.CANCELLED);
  }

  private KafkaProducer<String, byte[]> rawProducer() {
    return new KafkaProducer<>(Map.of("bootstrap.servers", stack.kafka.bootstrapServers(),
        "acks", "all", "max.request.size", 11 * 1024 * 1024), new StringSerializer(),
        new ByteArraySerializer());
  }

  private List<ConsumerRecord<String, byte[]>> dlq(String keyPrefix) throws InterruptedException {
    long deadline = System.nanoTime() + DRAIN.toNanos();
    List<ConsumerRecord<String, byte[]>> found = List.of();
    while (System.nanoTime() < deadline) {
      found = TopicReader.readAll(stack.kafka.bootstrapServers(), stack.topics.dlq()).stream()
          .filter(r -> r.key() != null && r.key().startsWith(keyPrefix)).toList();
      if (found.size() >= FaultStack.PARTITIONS) {
        return found;
      }
      Thread.sleep(200);
    }
    return found;
  }

  private List<String> dlqCodes(String keyPrefix) throws InterruptedException {
    return dlq(keyPrefix).stream()
        .map(r -> HeaderNames.get(r.headers(), HeaderNames.ERROR_CODE).orElse("?")).toList();
  }

  /** Waits for every job to end and records the row; recovery is measured from {@code cleared}. */
  private FaultReport.Row finish(String fault, List<String> jobs, Instant cleared) throws Exception {
    Instant lastEnded = stack.statuses.awaitTerminal(jobs, DRAIN);
    Instant firstAfter = jobs.stream().map(id -> stack.statuses.terminal(id).orElseThrow().seenAt())
        .filter(t -> !t.isBefore(cleared)).min(Instant::compareTo).orElse(lastEnded);
    Thread.sleep(2000); // a duplicate terminal status would arrive by now
    FaultReport.Row row = stack.outcome(fault, jobs, Duration.between(cleared, firstAfter),
        Duration.between(cleared, lastEnded));
    FaultReport.add(row);
    return row;
  }

  private void assertAllSucceededOnce(FaultReport.Row row, List<String> jobs) {
    assertThat(row.lost()).as("lost jobs").isZero();
    assertThat(row.duplicateTerminal()).as("duplicate terminal statuses").isZero();
    assertThat(jobs).as("jobs that did not succeed, with their status events (logs in %s)",
            FaultStack.LOG_DIR.toAbsolutePath())
        .filteredOn(id -> !stack.statuses.hasState(id, JobState.SUCCEEDED))
        .extracting(id -> id + " " + stack.statuses.events(id).stream()
            .map(e -> e.status().status() + (e.status().error() == null ? ""
                : "(" + e.status().error().code() + ": " + e.status().error().message() + ")"))
            .toList())
        .isEmpty();
    assertThat(row.succeeded()).as("succeeded").isEqualTo(row.submitted());
    assertThat(row.badObjects()).as("SUCCEEDED jobs without exactly one output").isZero();
  }

  @Test
  @Order(10)
  void notifierKilledWithDeliveriesInFlight() throws Exception {
    // A slow receiver, so that attempts are in flight when the notifier dies.
    Map<String, java.util.concurrent.atomic.AtomicInteger> received =
        new java.util.concurrent.ConcurrentHashMap<>();
    List<String> badSignatures = new java.util.concurrent.CopyOnWriteArrayList<>();
    com.sun.net.httpserver.HttpServer receiver = com.sun.net.httpserver.HttpServer.create(
        new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0), 0);
    receiver.setExecutor(java.util.concurrent.Executors.newFixedThreadPool(4));
    receiver.createContext("/hook", exchange -> {
      byte[] body = exchange.getRequestBody().readAllBytes();
      String key = exchange.getRequestHeaders().getFirst("Idempotency-Key");
      received.computeIfAbsent(key, k -> new java.util.concurrent.atomic.AtomicInteger())
          .incrementAndGet();
      if (!dev.inferpipe.core.webhook.WebhookSignature.verify(stack.webhookSecret, body,
          exchange.getRequestHeaders().getFirst("X-Inferpipe-Signature"))) {
        badSignatures.add(key);
      }
      try {
        Thread.sleep(300);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      exchange.sendResponseHeaders(200, -1);
      exchange.close();
    });
    receiver.start();
    ServiceProcess notifier = stack.notifier("webhook-notifier-a").start();
    try {
      notifier.awaitReady(READY);
      String url = "http://127.0.0.1:" + receiver.getAddress().getPort() + "/hook";
      List<String> jobs = new ArrayList<>();
      for (int i = 0; i < 12; i++) {
        String id = String.format("kill-notifier-%02d", i);
        stack.submitWithWebhook(id, 2, url);
        jobs.add(id);
      }
      awaitTrue(() -> received.size() >= 4, DRAIN, "4 notifications received");
      notifier.kill();
      int beforeKill = received.size();
      Instant restarted = Instant.now();
      notifier.start().awaitReady(READY);
      awaitTrue(() -> jobs.stream().allMatch(id -> received.containsKey(id + ":SUCCEEDED")),
          DRAIN, "every job notified after the restart");
      Duration drained = Duration.between(restarted, Instant.now());
      Thread.sleep(2000); // room for a late repeat
      int repeats = received.values().stream().mapToInt(c -> c.get() - 1).sum();
      System.out.printf(java.util.Locale.ROOT, "FAULT-WEBHOOK | webhook-notifier SIGKILLed with"
          + " deliveries in flight (2 at a time), restarted | %d | notified %d | lost %d |"
          + " before the kill %d | repeated %d | drained %.1f s |%n", jobs.size(),
          received.size(), jobs.size() - received.size(), beforeKill, repeats,
          drained.toMillis() / 1000.0);
      assertThat(received).as("every job notified once at least").hasSize(jobs.size());
      // Only an attempt in flight at the kill (its 2xx, if any, not yet recorded) goes again.
      assertThat(repeats).as("repeated notifications").isLessThanOrEqualTo(2);
      assertThat(received.values()).allSatisfy(c -> assertThat(c.get()).isBetween(1, 2));
      assertThat(badSignatures).isEmpty();
      for (String id : jobs) {
        awaitTrue(() -> TopicReader.readAll(stack.kafka.bootstrapServers(),
            stack.topics.webhooks()).stream().filter(r -> r.key().equals(id))
            .reduce((a, b) -> b).map(r -> new String(r.value(), StandardCharsets.UTF_8)
                .contains("\"state\":\"DELIVERED\"")).orElse(false),
            Duration.ofSeconds(30), id + " recorded DELIVERED");
      }
    } finally {
      notifier.kill();
      receiver.stop(0);
    }
  }

  /**
   * Kills the consumer 300 ms into a job's 80 sampling steps: the job that most recently went
   * RUNNING and has not ended (an earlier one may merely wait for the sink). Returns its id.
   */
  private String killWhileSampling(List<String> jobs) throws InterruptedException {
    long deadline = System.nanoTime() + DRAIN.toNanos();
    while (System.nanoTime() < deadline) {
      String sampling = jobs.stream()
          .filter(id -> stack.statuses.hasState(id, JobState.RUNNING)
              && stack.statuses.terminal(id).isEmpty())
          .max(java.util.Comparator.comparing(id -> stack.statuses.events(id).stream()
              .filter(e -> e.status().status() == JobState.RUNNING)
              .map(StatusLog.Event::seenAt).max(Instant::compareTo).orElseThrow()))
          .orElse(null);
      if (sampling != null) {
        Thread.sleep(300);
        if (stack.statuses.terminal(sampling).isEmpty()) {
          consumer.kill();
          return sampling;
        }
      }
      Thread.sleep(5);
    }
    throw new AssertionError("no job was sampling");
  }

  private static void awaitTrue(java.util.function.BooleanSupplier condition, Duration timeout,
      String what) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within " + timeout + ": " + what);
      }
      Thread.sleep(10);
    }
  }

  private static byte[] job(String id, String prompt) {
    return FaultStack.txt2img(id, prompt, 10, 7).getBytes(StandardCharsets.UTF_8);
  }

  private ProducerRecord<String, byte[]> withSha(String id, byte[] job, String sha) {
    RecordHeaders headers = new RecordHeaders();
    HeaderNames.put(headers, HeaderNames.REQUEST_SHA256, sha);
    return new ProducerRecord<>(stack.topics.requests(), null, id, job, headers);
  }

}
