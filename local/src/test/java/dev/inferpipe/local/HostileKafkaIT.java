package dev.inferpipe.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.inferpipe.core.config.Env;
import dev.inferpipe.core.job.JobId;
import dev.inferpipe.core.kafka.HeaderNames;
import dev.inferpipe.core.kafka.RecordLimits;
import dev.inferpipe.embedded.EmbeddedS3;
import dev.inferpipe.local.HostileKafkaCorpus.Entry;
import dev.inferpipe.local.HostileKafkaCorpus.Header;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.S3Object;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The hostile Kafka corpus ({@code testdata/hostile-kafka.json}) against a real local stack with
 * API keys on: every record some other Kafka client could write to the requests, status or
 * outputs topic, each followed by a normal job on the same partition. After every entry the
 * entry's expectation holds, the partition still works, and nothing else changed: the victims'
 * statuses are byte-for-byte what they were, no other tenant sees them, no other DLQ record or
 * status event appeared, and S3 holds exactly the objects it should.
 *
 * <h2>Victims</h2>
 * Set up once, as tenant {@code acme}: {@code done} (a job submitted through the API that
 * SUCCEEDED; its signed request record is captured from {@code inference.requests}),
 * {@code queued} (a QUEUED acme status with no request record: a job still waiting in the queue)
 * and {@code cancelled} (another such job, cancelled with DELETE as acme). A third API key, for
 * the direct tenant {@code external}, is the test's observer: direct publications run as that
 * tenant, so it polls the normal jobs and the hostile jobs that are expected to run.
 *
 * <h2>Entry format</h2>
 * A JSON array of objects:
 * <ul>
 *   <li>{@code name}: what the entry tries; {@code topic}: {@code requests}, {@code status} or
 *       {@code outputs}.</li>
 *   <li>{@code key}, {@code value}: JSON null (a null key / a null value), a string (expanded,
 *       see placeholders, then sent as its bytes), or an object/array (strings in it expanded,
 *       then sent as JSON). In an object {@code "$status": "done"} starts from that victim's
 *       current status document and the other fields override it; {@code "$remove": [..]} drops
 *       fields.</li>
 *   <li>{@code headers_from}: {@code "signed"} starts from the headers of {@code done}'s real,
 *       API-signed request record; then {@code remove_headers} (names), {@code set_headers}
 *       ({@code [name, value]} pairs, replacing) and {@code headers} ({@code [name, value]} pairs,
 *       appended, in order; a value may be null, a string or an object as above), and
 *       {@code many_headers} ({@code {"count", "name", "value"}}: count headers named name + i).</li>
 *   <li>{@code timestamp}: the record timestamp in epoch millis (default: now).</li>
 *   <li>{@code wrong_partition}: true sends the record to the partition after the one its key
 *       hashes to. Otherwise a record whose key is a job id goes where the default partitioner
 *       would put it, and any other record to partition (index mod partitions).</li>
 *   <li>{@code setup}: (status topic) records {@code {key, value}} published just before the
 *       hostile one, on the same partition.</li>
 *   <li>{@code expect}: what must happen.
 *     <ul>
 *       <li>{@code "dlq": CODE}: exactly one DLQ record whose {@code dlq-source-topic},
 *           {@code -partition} and {@code -offset} name the hostile record, with this
 *           {@code error-code}; {@code "dlq_copy"}: {@code whole} (default: the value is the
 *           original's), {@code truncated} (the bounded copy: first 64 KiB, original size and
 *           SHA-256) or {@code headers_dropped}.</li>
 *       <li>{@code "status": STATE} with {@code "job"} (a template, default {@code ${NEW}}, or
 *           {@code generated}: the one new job id on the status topic): that job reaches STATE,
 *           owned by {@code "tenant"} (default {@code external}); with {@code dlq} too, its
 *           error code is the DLQ code.</li>
 *       <li>{@code "runs_as": TENANT}: the job runs: {@code status} SUCCEEDED, that tenant, and
 *           its objects in S3.</li>
 *       <li>{@code "ignored": true}: no DLQ record, no status event, no object.</li>
 *       <li>{@code "broker_refuses": true}: the broker itself rejects the record (e.g. a null key
 *           on the compacted status topic); the partition must still work.</li>
 *       <li>{@code "api"}: extra checks {@code [{"job", "as": acme|globex|external, "http",
 *           "status"}]} of GET /v1/jobs/{job}.</li>
 *     </ul>
 *     Without {@code status}/{@code runs_as}, the only status events allowed during the entry
 *     are the normal job's (and the ones the entry itself published).</li>
 * </ul>
 *
 * <h2>Placeholders</h2>
 * {@code ${NEW}}, {@code ${NEW2}}: fresh job ids of this entry; {@code ${VICTIM:name}}: a
 * victim's id; {@code ${HASH:name}}: its request_sha256; {@code ${SIGNED_VALUE}},
 * {@code ${SIGNATURE}}: {@code done}'s signed record value and signature header;
 * {@code ${PNG}}: a small real PNG; {@code ${BYTES:hex}}: raw bytes; {@code ${REPEAT:n:text}};
 * {@code ${NOW_PLUS_MS:n}}: epoch millis n from now; {@code ${HEX64}}: 64 random hex digits.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HostileKafkaIT {
  private static final String MODEL = "tiny-shapes-diffusion";
  private static final Duration MARKER_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration JOB_TIMEOUT = Duration.ofSeconds(30);
  private static final List<String> VICTIMS = List.of("done", "queued", "cancelled");

  private final HttpClient http = HttpClient.newBuilder()
      .connectTimeout(Duration.ofSeconds(5)).followRedirects(HttpClient.Redirect.NEVER).build();
  private final SecureRandom random = new SecureRandom();
  private LocalStack stack;
  private KafkaProducer<byte[], byte[]> producer;
  private KafkaConsumer<byte[], byte[]> reader;
  private S3Client s3;
  private String bucket;
  private final Map<String, String> keys = new HashMap<>(); // tenant -> API key
  private final Map<String, String> victimIds = new LinkedHashMap<>();
  private final Map<String, String> baseline = new LinkedHashMap<>(); // victim -> acme GET body
  private final Map<String, ObjectNode> victimStatus = new HashMap<>();
  private List<Header> signedHeaders;
  private byte[] signedValue;
  private byte[] png;
  private Set<String> objects;
  private final Map<String, Integer> partitions = new HashMap<>();
  private int markers;
  /** Set when an entry stalled a partition or stopped a worker: the rest cannot be judged. */
  private volatile String broken;
  private long startedNanos;

  private static final Map<String, String> TOPICS = Map.of(
      "requests", "inference.requests", "status", "inference.status",
      "outputs", "inference.outputs");
  private static final String DLQ = "inference.requests.dlq";

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    startedNanos = System.nanoTime();
    for (String tenant : List.of("acme", "globex", "external")) {
      byte[] secret = new byte[24];
      random.nextBytes(secret);
      keys.put(tenant, "key-" + HexFormat.of().formatHex(secret));
    }
    Path keysFile = dir.resolve("api-keys.json");
    Files.writeString(keysFile, "{\"keys\":[" + keys.entrySet().stream()
        .map(k -> "{\"id\":\"" + k.getKey() + "\",\"tenant\":\"" + k.getKey() + "\",\"sha256\":\""
            + sha256Hex(k.getValue().getBytes(StandardCharsets.UTF_8))
            + "\",\"disabled\":false,\"rate_per_second\":1000,\"burst\":1000,\"max_queued\":1000}")
        .collect(Collectors.joining(",")) + "]}");
    Map<String, String> env = new HashMap<>(LocalStack.ephemeralEnv(dir.resolve("data")));
    env.put("INFERPIPE_API_KEYS_FILE", keysFile.toString());
    stack = LocalStack.start(Env.of(env));
    producer = new KafkaProducer<>(Map.of(
        ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrapServers(),
        ProducerConfig.ACKS_CONFIG, "all",
        ProducerConfig.LINGER_MS_CONFIG, 0,
        ProducerConfig.MAX_REQUEST_SIZE_CONFIG, RecordLimits.MAX_RECORD_BYTES + 1024 * 1024,
        ProducerConfig.BUFFER_MEMORY_CONFIG, 64L * 1024 * 1024),
        new ByteArraySerializer(), new ByteArraySerializer());
    reader = new KafkaConsumer<>(Map.of(
        ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrapServers(),
        ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
        ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
        ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, RecordLimits.MAX_RECORD_BYTES + 1024 * 1024,
        ConsumerConfig.FETCH_MAX_BYTES_CONFIG, 64 * 1024 * 1024),
        new ByteArrayDeserializer(), new ByteArrayDeserializer());
    for (String topic : List.of("inference.requests", "inference.status", "inference.outputs", DLQ)) {
      partitions.put(topic, reader.partitionsFor(topic, Duration.ofSeconds(30)).size());
    }
    bucket = stack.settings().bucket();
    s3 = S3Client.builder().endpointOverride(URI.create(stack.s3Endpoint())).forcePathStyle(true)
        .region(Region.of(EmbeddedS3.REGION))
        .credentialsProvider(StaticCredentialsProvider.create(
            AwsBasicCredentials.create(EmbeddedS3.ACCESS_KEY, EmbeddedS3.SECRET_KEY)))
        .build();
    png = tinyPng();

    long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
    while (!(stack.consumerReady() && get("/readyz", "acme").statusCode() == 200)) {
      assertThat(System.nanoTime()).as("stack ready in 90 s").isLessThan(deadline);
      Thread.sleep(50);
    }
    setUpVictims();
    objects = listObjects();
    System.out.printf("hostile-kafka: stack and victims ready in %d ms%n",
        (System.nanoTime() - startedNanos) / 1_000_000);
  }

  private void setUpVictims() throws Exception {
    victimIds.put("done", "victim-done");
    victimIds.put("queued", "victim-queued");
    victimIds.put("cancelled", "victim-cancelled");
    HttpResponse<String> accepted = send("POST", "/v1/jobs", "acme",
        "{\"job_id\":\"victim-done\",\"task\":\"txt2img\",\"model_id\":\"" + MODEL
            + "\",\"input\":{\"prompt\":\"a red circle\",\"steps\":1}}");
    assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(202);
    JsonNode done = awaitState("victim-done", "acme", "SUCCEEDED", MARKER_TIMEOUT);
    assertThat(done.get("tenant").asString()).isEqualTo("acme");

    // done's real, signed request record
    String requests = "inference.requests";
    ConsumerRecord<byte[], byte[]> signed = null;
    for (int p = 0; p < partitions.get(requests); p++) {
      TopicPartition tp = new TopicPartition(requests, p);
      for (ConsumerRecord<byte[], byte[]> r : readRange(tp, 0, endOffset(tp))) {
        if (r.key() != null && Arrays.equals(r.key(), bytes("victim-done"))) {
          signed = r;
        }
      }
    }
    assertThat(signed).as("done's request record").isNotNull();
    signedValue = signed.value();
    signedHeaders = new ArrayList<>();
    for (org.apache.kafka.common.header.Header h : signed.headers()) {
      signedHeaders.add(new Header(h.key(), h.value()));
    }
    assertThat(signedHeaders).extracting(Header::name)
        .contains(HeaderNames.SIGNATURE, HeaderNames.TENANT, HeaderNames.REQUEST_SHA256);

    // queued and cancelled: acme jobs still waiting in the queue (a status, no request record)
    for (String victim : List.of("queued", "cancelled")) {
      String id = victimIds.get(victim);
      ObjectNode queued = ((ObjectNode) done).deepCopy();
      for (String field : List.of("started_at", "finished_at", "queue_wait_ms", "inference_ms",
          "answer", "error", "storage_retries", "trace_id")) {
        queued.remove(field);
      }
      String now = Instant.now().toString();
      queued.put("job_id", id).put("status", "QUEUED")
          .put("request_sha256", new String(HostileKafkaCorpus.common("HEX64", null),
              StandardCharsets.UTF_8))
          .put("output_location", "s3://" + bucket + "/outputs/" + id + "/")
          .put("submitted_at", now).put("updated_at", now);
      producer.send(new ProducerRecord<>("inference.status", null, bytes(id),
          HostileKafkaCorpus.JSON.writeValueAsBytes(queued))).get();
      awaitState(id, "acme", "QUEUED", JOB_TIMEOUT);
    }
    HttpResponse<String> cancel = send("DELETE", "/v1/jobs/victim-cancelled", "acme", null);
    assertThat(cancel.statusCode()).as(cancel.body()).isEqualTo(202);
    awaitState("victim-cancelled", "acme", "CANCELLED", JOB_TIMEOUT);

    for (String victim : VICTIMS) {
      HttpResponse<String> status = get("/v1/jobs/" + victimIds.get(victim), "acme");
      assertThat(status.statusCode()).isEqualTo(200);
      baseline.put(victim, status.body());
      victimStatus.put(victim, (ObjectNode) json(status.body()));
    }
    assertThat(victimStatus.get("done").get("status").asString()).isEqualTo("SUCCEEDED");
    assertThat(victimStatus.get("queued").get("status").asString()).isEqualTo("QUEUED");
    assertThat(victimStatus.get("cancelled").get("status").asString()).isEqualTo("CANCELLED");
  }

  @AfterAll
  void stop() {
    System.out.printf("hostile-kafka: total %d ms%n", (System.nanoTime() - startedNanos) / 1_000_000);
    for (AutoCloseable c : new AutoCloseable[] {producer, reader, s3, stack}) {
      try {
        if (c != null) {
          c.close();
        }
      } catch (Exception e) {
        System.err.println("while stopping: " + e);
      }
    }
  }

  @TestFactory
  Stream<DynamicTest> hostileRecords() {
    List<Entry> corpus = HostileKafkaCorpus.load();
    assertThat(corpus).hasSizeGreaterThanOrEqualTo(45);
    assertThat(corpus.stream().map(Entry::name).distinct().count()).as("unique names")
        .isEqualTo(corpus.size());
    return Stream.concat(
        corpus.stream().map(e -> DynamicTest.dynamicTest(e.toString(), () -> run(e))),
        Stream.of(DynamicTest.dynamicTest("every worker is still healthy", this::healthy)));
  }

  private void healthy() throws Exception {
    for (String url : List.of(stack.consumerManagementUrl(), stack.sinkManagementUrl())) {
      for (String probe : List.of("/healthz", "/readyz")) {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url + probe))
            .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(url + probe + ": " + r.body()).isEqualTo(200);
      }
    }
    assertThat(get("/readyz", "acme").statusCode()).isEqualTo(200);
  }

  // ---------------------------------------------------------------------------------------------

  /** Everything one entry's record expanded to, plus where it landed. */
  private record Sent(String topic, int partition, long offset, byte[] key, byte[] value,
      Set<Long> ownOffsets) {}

  private void run(Entry entry) throws Exception {
    try {
      runEntry(entry);
    } finally {
      objects = listObjects(); // a failed entry must not fail the next ones' S3 check
    }
  }

  private void runEntry(Entry entry) throws Exception {
    if (broken != null) {
      throw new AssertionError(entry + ": not run, because an earlier entry broke the pipeline: "
          + broken);
    }
    long began = System.nanoTime();
    Map<String, String> fresh = new HashMap<>();
    fresh.put("NEW", String.format("h%02d-%s", entry.index(), randomHex(4)));
    fresh.put("NEW2", String.format("h%02d-b-%s", entry.index(), randomHex(4)));
    HostileKafkaCorpus.Placeholders resolver = (name, arg) -> resolve(name, arg, fresh);
    JsonNode expect = entry.expect();

    String topic = TOPICS.get(entry.topic());
    TopicPartition dlq = new TopicPartition(DLQ, 0);
    long dlqFrom = endOffset(dlq);
    Map<TopicPartition, Long> statusFrom = statusEnds();

    byte[] key = HostileKafkaCorpus.bytes(entry.get("key"), resolver, this::statusOf);
    byte[] value = HostileKafkaCorpus.bytes(entry.get("value"), resolver, this::statusOf);
    List<Header> headers = headers(entry, resolver);
    int n = partitions.get(topic);
    int partition = isJobId(key) ? partitionOf(key, n) : entry.index() % n;
    if (entry.has("wrong_partition") && entry.get("wrong_partition").asBoolean()) {
      partition = (partition + 1) % n;
    }
    Long timestamp = entry.has("timestamp") ? entry.get("timestamp").asLong() : null;
    Set<Long> own = new LinkedHashSet<>();
    if (entry.has("setup")) {
      for (JsonNode setup : entry.get("setup")) {
        own.add(producer.send(new ProducerRecord<>(topic, partition, null,
            HostileKafkaCorpus.bytes(setup.get("key"), resolver, this::statusOf),
            HostileKafkaCorpus.bytes(setup.get("value"), resolver, this::statusOf))).get()
            .offset());
      }
    }
    ProducerRecord<byte[], byte[]> hostile = new ProducerRecord<>(topic, partition, timestamp, key,
        value, headers.stream().map(h -> new RecordHeader(h.name(), h.value()))
            .map(h -> (org.apache.kafka.common.header.Header) h).toList());
    Sent sent;
    if (expect.has("broker_refuses")) {
      assertThatThrownBy(() -> producer.send(hostile).get()).as(entry + ": the broker refuses it")
          .isInstanceOf(ExecutionException.class).cause().isInstanceOf(InvalidRecordException.class);
      sent = new Sent(topic, partition, -1, key, value, own);
    } else {
      RecordMetadata where = producer.send(hostile).get();
      own.add(where.offset());
      sent = new Sent(topic, where.partition(), where.offset(), key, value, own);
    }
    String context = entry + " [record at " + topic + "/" + sent.partition() + "@" + sent.offset()
        + "]";

    // (2) a normal job on the same partition still runs
    String marker = markerFor(sent.partition());
    producer.send(new ProducerRecord<>("inference.requests", sent.partition(), null, bytes(marker),
        bytes("{\"job_id\":\"" + marker + "\",\"task\":\"txt2img\",\"model_id\":\"" + MODEL
            + "\",\"input\":{\"prompt\":\"a blue square\",\"steps\":1}}"))).get();
    try {
      JsonNode markerStatus = awaitState(marker, "external", "SUCCEEDED", MARKER_TIMEOUT);
      assertThat(markerStatus.get("tenant").asString()).isEqualTo("external");
    } catch (AssertionError e) {
      broken = context + ": the normal job " + marker + " after it did not succeed ("
          + e.getMessage() + ")";
      throw new AssertionError(broken + "; DLQ since: " + describeDlq(readRange(dlq, dlqFrom,
          endOffset(dlq))), e);
    }

    // (1) the expectation
    Set<String> allowedStatusKeys = new TreeSet<>(List.of(marker));
    Set<String> expectedObjects = new TreeSet<>(objects);
    expectedObjects.add("outputs/" + marker + "/image.png");
    expectedObjects.add("outputs/" + marker + "/result.json");

    String state = expect.has("runs_as") ? "SUCCEEDED"
        : expect.has("status") ? expect.get("status").asString() : null;
    String tenant = expect.has("runs_as") ? expect.get("runs_as").asString()
        : expect.has("tenant") ? expect.get("tenant").asString() : "external";
    String dlqCode = expect.has("dlq") ? expect.get("dlq").asString() : null;
    if (expect.has("ignored")) {
      assertThat(state).as(context + ": an ignored entry expects no status").isNull();
      assertThat(dlqCode).as(context + ": an ignored entry expects no DLQ record").isNull();
    }
    String jobId = null;
    if (state != null) {
      String template = expect.has("job") ? expect.get("job").asString() : "${NEW}";
      jobId = template.equals("generated")
          ? generatedJob(statusFrom, sent, marker, context)
          : HostileKafkaCorpus.expandToString(template, resolver);
      JsonNode job = awaitState(jobId, tenant, state, JOB_TIMEOUT);
      assertThat(job.get("tenant") == null ? null : job.get("tenant").asString())
          .as(context + ": tenant of job " + jobId).isEqualTo(tenant);
      if (dlqCode != null && state.equals("FAILED")) {
        assertThat(job.path("error").path("code").asString()).as(context + ": error code")
            .isEqualTo(dlqCode);
      }
      allowedStatusKeys.add(jobId);
      if (state.equals("SUCCEEDED")) {
        expectedObjects.add("outputs/" + jobId + "/image.png");
        expectedObjects.add("outputs/" + jobId + "/result.json");
      }
    }

    List<ConsumerRecord<byte[], byte[]>> dlqRecords = readRange(dlq, dlqFrom, endOffset(dlq));
    Predicate<ConsumerRecord<byte[], byte[]>> ofHostile = r ->
        topic.equals(header(r, HeaderNames.DLQ_SOURCE_TOPIC))
            && Integer.toString(sent.partition()).equals(header(r, HeaderNames.DLQ_SOURCE_PARTITION))
            && Long.toString(sent.offset()).equals(header(r, HeaderNames.DLQ_SOURCE_OFFSET));
    List<ConsumerRecord<byte[], byte[]>> mine = dlqRecords.stream().filter(ofHostile).toList();
    List<ConsumerRecord<byte[], byte[]>> others = dlqRecords.stream().filter(ofHostile.negate())
        .toList();
    assertThat(others).as(context + ": DLQ records of anything but the hostile record: "
        + describeDlq(others)).isEmpty();
    if (dlqCode == null) {
      assertThat(mine).as(context + ": expected no DLQ record, got " + describeDlq(mine)).isEmpty();
    } else {
      assertThat(mine).as(context + ": expected one DLQ record " + dlqCode + ", got "
          + describeDlq(mine)).hasSize(1);
      checkDlqCopy(context, mine.get(0), dlqCode, sent,
          expect.has("dlq_copy") ? expect.get("dlq_copy").asString() : "whole");
    }

    // (3) nothing else changed: status events, victims, extra API checks, S3
    Map<String, List<String>> events = statusEvents(statusFrom, sent);
    assertThat(events.keySet()).as(context + ": jobs whose status changed: " + events)
        .isSubsetOf(allowedStatusKeys);
    assertThat(events).as(context + ": the normal job's events").containsKey(marker);
    for (String victim : VICTIMS) {
      String id = victimIds.get(victim);
      HttpResponse<String> asAcme = get("/v1/jobs/" + id, "acme");
      assertThat(asAcme.statusCode()).as(context + ": victim " + victim + " as acme").isEqualTo(200);
      assertThat(asAcme.body()).as(context + ": victim " + victim + " changed")
          .isEqualTo(baseline.get(victim));
      for (String stranger : List.of("globex", "external")) {
        HttpResponse<String> r = get("/v1/jobs/" + id, stranger);
        assertThat(r.statusCode()).as(context + ": victim " + victim + " as " + stranger + ": "
            + r.body()).isEqualTo(404);
      }
    }
    if (expect.has("api")) {
      for (JsonNode check : expect.get("api")) {
        String id = HostileKafkaCorpus.expandToString(check.get("job").asString(), resolver);
        HttpResponse<String> r = get("/v1/jobs/" + id, check.get("as").asString());
        assertThat(r.statusCode()).as(context + ": GET " + id + " as " + check.get("as") + ": "
            + r.body()).isEqualTo(check.get("http").asInt());
        if (check.has("status")) {
          assertThat(json(r.body()).get("status").asString()).as(context + ": " + id)
              .isEqualTo(check.get("status").asString());
        }
      }
    }
    Set<String> now = listObjects();
    assertThat(now).as(context + ": S3 objects").isEqualTo(expectedObjects);
    objects = now;
    System.out.printf("hostile-kafka: %s ok in %d ms%n", entry,
        (System.nanoTime() - began) / 1_000_000);
  }

  private void checkDlqCopy(String context, ConsumerRecord<byte[], byte[]> copy, String code,
      Sent sent, String kind) {
    assertThat(header(copy, HeaderNames.ERROR_CODE)).as(context + ": error-code ("
        + header(copy, HeaderNames.ERROR_MESSAGE) + ")").isEqualTo(code);
    assertThat(header(copy, HeaderNames.ERROR_MESSAGE)).as(context + ": error-message")
        .isNotBlank();
    switch (kind) {
      case "whole" -> {
        assertThat(header(copy, HeaderNames.DLQ_VALUE_TRUNCATED)).as(context).isNull();
        assertThat(header(copy, HeaderNames.DLQ_HEADERS_DROPPED)).as(context).isNull();
        assertThat(copy.value() == null ? null : sha256Hex(copy.value()))
            .as(context + ": the DLQ value is the original")
            .isEqualTo(sent.value() == null ? null : sha256Hex(sent.value()));
      }
      case "truncated" -> {
        assertThat(header(copy, HeaderNames.DLQ_VALUE_TRUNCATED)).as(context).isEqualTo("true");
        assertThat(header(copy, HeaderNames.DLQ_ORIGINAL_VALUE_BYTES)).as(context)
            .isEqualTo(Integer.toString(sent.value().length));
        assertThat(header(copy, HeaderNames.DLQ_ORIGINAL_VALUE_SHA256)).as(context)
            .isEqualTo(sha256Hex(sent.value()));
        assertThat(copy.value()).as(context + ": the first 64 KiB").isEqualTo(
            Arrays.copyOf(sent.value(), RecordLimits.DLQ_VALUE_PREFIX_BYTES));
      }
      case "headers_dropped" -> {
        assertThat(header(copy, HeaderNames.DLQ_HEADERS_DROPPED)).as(context).isEqualTo("true");
        assertThat(copy.headers().toArray().length).as(context + ": header count").isLessThan(50);
      }
      default -> throw new IllegalArgumentException(context + ": unknown dlq_copy " + kind);
    }
  }

  // --- placeholders and headers ----------------------------------------------------------------

  private byte[] resolve(String name, String arg, Map<String, String> fresh) {
    return switch (name) {
      case "NEW", "NEW2" -> bytes(fresh.get(name));
      case "VICTIM" -> bytes(victim(arg));
      case "HASH" -> bytes(statusOf(arg).get("request_sha256").asString());
      case "SIGNED_VALUE" -> signedValue.clone();
      case "SIGNATURE" -> signedHeaders.stream().filter(h -> h.name().equals(HeaderNames.SIGNATURE))
          .findFirst().orElseThrow().value().clone();
      case "PNG" -> png.clone();
      default -> HostileKafkaCorpus.common(name, arg);
    };
  }

  private String victim(String name) {
    String id = victimIds.get(name);
    if (id == null) {
      throw new IllegalArgumentException("no victim " + name);
    }
    return id;
  }

  private ObjectNode statusOf(String victim) {
    ObjectNode status = victimStatus.get(victim);
    if (status == null) {
      throw new IllegalArgumentException("no victim " + victim);
    }
    return status;
  }

  private List<Header> headers(Entry entry, HostileKafkaCorpus.Placeholders resolver) {
    List<Header> headers = new ArrayList<>();
    if (entry.has("headers_from")) {
      assertThat(entry.get("headers_from").asString()).isEqualTo("signed");
      headers.addAll(signedHeaders);
    }
    if (entry.has("remove_headers")) {
      for (JsonNode name : entry.get("remove_headers")) {
        headers.removeIf(h -> h.name().equals(name.asString()));
      }
    }
    if (entry.has("set_headers")) {
      for (JsonNode pair : entry.get("set_headers")) {
        String name = HostileKafkaCorpus.expandToString(pair.get(0).asString(), resolver);
        headers.removeIf(h -> h.name().equals(name));
        headers.add(new Header(name, HostileKafkaCorpus.bytes(pair.get(1), resolver,
            this::statusOf)));
      }
    }
    if (entry.has("headers")) {
      for (JsonNode pair : entry.get("headers")) {
        headers.add(new Header(HostileKafkaCorpus.expandToString(pair.get(0).asString(), resolver),
            HostileKafkaCorpus.bytes(pair.get(1), resolver, this::statusOf)));
      }
    }
    if (entry.has("many_headers")) {
      JsonNode many = entry.get("many_headers");
      for (int i = 0; i < many.get("count").asInt(); i++) {
        headers.add(new Header(many.get("name").asString() + i,
            HostileKafkaCorpus.bytes(many.get("value"), resolver, this::statusOf)));
      }
    }
    return headers;
  }

  // --- Kafka helpers ---------------------------------------------------------------------------

  private static boolean isJobId(byte[] key) {
    if (key == null) {
      return false;
    }
    try {
      String text = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(key)).toString();
      return JobId.isValid(text);
    } catch (CharacterCodingException e) {
      return false;
    }
  }

  private static int partitionOf(byte[] key, int partitions) {
    return Utils.toPositive(Utils.murmur2(key)) % partitions;
  }

  /** A fresh job id whose default partition (on every topic: they have as many) is this one. */
  private String markerFor(int partition) {
    int n = partitions.get("inference.requests");
    assertThat(partitions.get("inference.status")).isEqualTo(n);
    assertThat(partitions.get("inference.outputs")).isEqualTo(n);
    while (true) {
      String id = String.format("normal-%03d-%s", ++markers, randomHex(3));
      if (partitionOf(bytes(id), n) == partition) {
        return id;
      }
    }
  }

  private long endOffset(TopicPartition tp) {
    return reader.endOffsets(List.of(tp), Duration.ofSeconds(30)).get(tp);
  }

  private Map<TopicPartition, Long> statusEnds() {
    List<TopicPartition> tps = new ArrayList<>();
    for (int p = 0; p < partitions.get("inference.status"); p++) {
      tps.add(new TopicPartition("inference.status", p));
    }
    return new HashMap<>(reader.endOffsets(tps, Duration.ofSeconds(30)));
  }

  private List<ConsumerRecord<byte[], byte[]>> readRange(TopicPartition tp, long from, long to) {
    List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
    if (to <= from) {
      return out;
    }
    reader.assign(List.of(tp));
    reader.seek(tp, from);
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (reader.position(tp) < to) {
      assertThat(System.nanoTime()).as("reading " + tp + " up to " + to).isLessThan(deadline);
      for (ConsumerRecord<byte[], byte[]> r : reader.poll(Duration.ofMillis(200))) {
        if (r.offset() < to) {
          out.add(r);
        }
      }
    }
    return out;
  }

  /** Status events since {@code from}, by job id, except the ones the entry published itself. */
  private Map<String, List<String>> statusEvents(Map<TopicPartition, Long> from, Sent sent) {
    Map<String, List<String>> events = new LinkedHashMap<>();
    Map<TopicPartition, Long> to = statusEnds();
    for (Map.Entry<TopicPartition, Long> start : from.entrySet()) {
      TopicPartition tp = start.getKey();
      for (ConsumerRecord<byte[], byte[]> r : readRange(tp, start.getValue(), to.get(tp))) {
        if (sent.topic().equals(tp.topic()) && sent.partition() == tp.partition()
            && sent.ownOffsets().contains(r.offset())) {
          continue;
        }
        String key = r.key() == null ? "<null>" : new String(r.key(), StandardCharsets.UTF_8);
        String state;
        try {
          state = json(new String(r.value(), StandardCharsets.UTF_8)).get("status").asString();
        } catch (RuntimeException e) {
          state = "<undecodable>";
        }
        events.computeIfAbsent(key, k -> new ArrayList<>()).add(state);
      }
    }
    return events;
  }

  /** The one job, other than the normal one, whose status appeared since {@code from}. */
  private String generatedJob(Map<TopicPartition, Long> from, Sent sent, String marker,
      String context) throws InterruptedException {
    long deadline = System.nanoTime() + JOB_TIMEOUT.toNanos();
    while (true) {
      Set<String> jobs = new TreeSet<>(statusEvents(from, sent).keySet());
      jobs.remove(marker);
      if (jobs.size() == 1) {
        return jobs.iterator().next();
      }
      assertThat(jobs).as(context + ": at most one new job").hasSizeLessThanOrEqualTo(1);
      assertThat(System.nanoTime()).as(context + ": a generated job id appears").isLessThan(deadline);
      Thread.sleep(50);
    }
  }

  private static String header(ConsumerRecord<byte[], byte[]> r, String name) {
    var h = r.headers().lastHeader(name);
    return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }

  private static String describeDlq(List<ConsumerRecord<byte[], byte[]>> records) {
    return records.stream().map(r -> "{" + header(r, HeaderNames.DLQ_SOURCE_TOPIC) + "/"
        + header(r, HeaderNames.DLQ_SOURCE_PARTITION) + "@" + header(r, HeaderNames.DLQ_SOURCE_OFFSET)
        + " " + header(r, HeaderNames.ERROR_CODE) + ": " + header(r, HeaderNames.ERROR_MESSAGE) + "}")
        .toList().toString();
  }

  // --- API and S3 ------------------------------------------------------------------------------

  private HttpResponse<String> get(String path, String tenant) throws IOException,
      InterruptedException {
    return send("GET", path, tenant, null);
  }

  private HttpResponse<String> send(String method, String path, String tenant, String body)
      throws IOException, InterruptedException {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(stack.apiUrl() + path))
        .timeout(Duration.ofSeconds(30))
        .header("Authorization", "Bearer " + keys.get(tenant))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body));
    if (body != null) {
      request.header("Content-Type", "application/json");
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** Polls GET /v1/jobs/{id} as {@code tenant} until the job is in {@code state}. */
  private JsonNode awaitState(String jobId, String tenant, String state, Duration timeout)
      throws IOException, InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    String last = "";
    while (true) {
      HttpResponse<String> r = get("/v1/jobs/" + jobId, tenant);
      last = r.statusCode() + " " + r.body();
      if (r.statusCode() == 200) {
        JsonNode status = json(r.body());
        String now = status.get("status").asString();
        if (now.equals(state)) {
          return status;
        }
        if (!List.of("QUEUED", "RUNNING", "STORING").contains(now)) {
          throw new AssertionError("job " + jobId + " ended " + now + ", expected " + state + ": "
              + r.body());
        }
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("job " + jobId + " (as " + tenant + ") not " + state + " within "
            + timeout.toSeconds() + " s; last answer: " + last);
      }
      Thread.sleep(20);
    }
  }

  private Set<String> listObjects() {
    Set<String> keys = new TreeSet<>();
    s3.listObjectsV2Paginator(ListObjectsV2Request.builder().bucket(bucket).build()).contents()
        .stream().map(S3Object::key).forEach(keys::add);
    return keys;
  }

  // --- small things ----------------------------------------------------------------------------

  private static JsonNode json(String body) {
    return HostileKafkaCorpus.JSON.readTree(body);
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private String randomHex(int bytes) {
    byte[] b = new byte[bytes];
    random.nextBytes(b);
    return HexFormat.of().formatHex(b);
  }

  private static String sha256Hex(byte[] value) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(value));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static byte[] tinyPng() throws IOException {
    BufferedImage image = new BufferedImage(4, 4, BufferedImage.TYPE_INT_RGB);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(image, "png", out);
    return out.toByteArray();
  }
}
