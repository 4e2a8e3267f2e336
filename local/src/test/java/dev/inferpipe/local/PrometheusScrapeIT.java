package dev.inferpipe.local;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inferpipe.core.config.Env;
import dev.inferpipe.core.telemetry.MetricCatalog;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * Debian's real Prometheus (with exemplar storage) scrapes the local stack's four services while
 * jobs run; then its HTTP API answers a histogram quantile, exemplars that lead to the jobs'
 * traces, every metric the chart's dashboard queries, the notifier's webhook metrics, and HELP
 * text for every metric.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PrometheusScrapeIT {
  private static final Path PROMETHEUS = Path.of("/usr/bin/prometheus");
  private static final Path DASHBOARD = Path.of("..", "helm", "inferpipe", "dashboards",
      "inferpipe.json");
  /** Labels Prometheus itself adds to every scraped series, and the histogram bound. */
  private static final Set<String> SCRAPE_LABELS = Set.of("__name__", "job", "instance", "le");
  /** One scrape job per service, named as the service names itself (its service label). */
  private static final List<String> SERVICES =
      List.of("producer-api", "gpu-consumer", "storage-sink", "webhook-notifier");

  private LocalStack stack;
  private ApiClient api;
  private Process prometheus;
  private String prometheusUrl;
  private final HttpClient http = HttpClient.newHttpClient();
  private final List<String> jobIds = new ArrayList<>();
  private final Set<String> traceIds = new HashSet<>();

  @BeforeAll
  void scrapeWhileJobsRun(@TempDir Path dir) throws Exception {
    Assumptions.assumeTrue(Files.isExecutable(PROMETHEUS),
        "Debian's prometheus is not installed (.ci/run installs it)");
    stack = LocalStack.start(Env.of(LocalStack.ephemeralEnv(dir.resolve("data"))));
    api = new ApiClient(stack.apiUrl());
    int port = freePort();
    prometheusUrl = "http://127.0.0.1:" + port;
    Path config = dir.resolve("prometheus.yml");
    Files.writeString(config, """
        global:
          scrape_interval: 1s
        scrape_configs:
          - job_name: producer-api
            static_configs: [{targets: ['%s']}]
          - job_name: gpu-consumer
            static_configs: [{targets: ['%s']}]
          - job_name: storage-sink
            static_configs: [{targets: ['%s']}]
          - job_name: webhook-notifier
            static_configs: [{targets: ['%s']}]
        """.formatted(hostPort(stack.apiUrl()), hostPort(stack.consumerManagementUrl()),
        hostPort(stack.sinkManagementUrl()), hostPort(stack.notifierManagementUrl())));
    prometheus = new ProcessBuilder(PROMETHEUS.toString(), "--config.file=" + config,
        "--storage.tsdb.path=" + dir.resolve("tsdb"), "--web.listen-address=127.0.0.1:" + port,
        "--enable-feature=exemplar-storage")
        .redirectErrorStream(true).redirectOutput(dir.resolve("prometheus.log").toFile()).start();

    long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
    while (!(stack.consumerReady() && api.get("/readyz").status() == 200)) {
      assertThat(System.nanoTime()).isLessThan(deadline);
      Thread.sleep(100);
    }
    awaitUp(Duration.ofSeconds(60)); // scraping before the first job, so no sample is missed
    // A first job per task creates its series; the second round makes them grow between
    // scrapes, so rate() sees an increase (a series born at 1 that never moves has rate 0).
    String vqa = "{\"task\":\"vqa\",\"model_id\":\"tiny-shapes-vqa\",\"input\":{\"image\":\""
        + scene() + "\",\"question\":\"what colour is the circle?\"}}";
    for (int round = 0; round < 2; round++) {
      for (int i = 0; i < 1 + round; i++) {
        submit("{\"task\":\"txt2img\",\"model_id\":\"tiny-shapes-diffusion\",\"input\":{"
            + "\"prompt\":\"a red circle\",\"steps\":4,\"seed\":" + (10 * round + i) + "}}");
      }
      submit(vqa);
      awaitJobs();
      Thread.sleep(2_500);
    }
    // A record no API wrote: dead-lettered, so the DLQ counter exists too.
    try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(Map.of("bootstrap.servers",
        stack.kafkaBootstrapServers()), new StringSerializer(), new ByteArraySerializer())) {
      producer.send(new ProducerRecord<>("inference.requests", "not-json",
          "{not json".getBytes(StandardCharsets.UTF_8))).get();
    }
    Thread.sleep(3_000); // scraped after the jobs ended, twice
    awaitUp(Duration.ofSeconds(30));
  }

  @AfterAll
  void stop() throws Exception {
    if (prometheus != null) {
      prometheus.destroy();
      prometheus.waitFor();
    }
    if (stack != null) {
      stack.close();
    }
  }

  private void awaitJobs() throws Exception {
    for (String jobId : jobIds) {
      JsonNode done = api.awaitTerminal(jobId, Duration.ofMinutes(3), s -> { });
      assertThat(done.get("status").asString()).as(jobId).isEqualTo("SUCCEEDED");
      traceIds.add(done.get("trace_id").asString());
    }
  }

  private void submit(String body) throws Exception {
    ApiClient.Response accepted = api.submit(body);
    assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
    jobIds.add(api.json(accepted.body()).get("job_id").asString());
  }

  @Test
  void aHistogramQuantileOfTheQueueWaitAndRequestDuration() throws Exception {
    for (String metric : List.of("inference_queue_wait_seconds", "inference_request_duration_seconds")) {
      JsonNode result = query("histogram_quantile(0.95, sum by (le, task) (rate(" + metric
          + "_bucket[1m])))").get("data").get("result");
      assertThat(result).as(metric).isNotEmpty();
      Set<String> tasks = new TreeSet<>();
      for (JsonNode series : result) {
        tasks.add(series.get("metric").get("task").asString());
        double value = Double.parseDouble(series.get("value").get(1).asString());
        // Between the first and the last chosen bucket: a real quantile, not NaN or +Inf.
        assertThat(value).as(metric).isFinite().isGreaterThan(0).isLessThanOrEqualTo(1800);
      }
      assertThat(tasks).as(metric).containsExactly("txt2img", "vqa");
    }
    // A dozen chosen buckets per series, not Micrometer's ~70.
    JsonNode buckets = query("count by (task) (inference_queue_wait_seconds_bucket)")
        .get("data").get("result");
    for (JsonNode series : buckets) {
      assertThat(Integer.parseInt(series.get("value").get(1).asString())).isEqualTo(15);
    }
  }

  @Test
  void exemplarsLeadFromTheHistogramsToTheJobsTraces() throws Exception {
    for (String metric : List.of("inference_request_duration_seconds_bucket",
        "inference_queue_wait_seconds_bucket", "inference_sampling_step_seconds_bucket")) {
      long now = System.currentTimeMillis() / 1000;
      JsonNode data = get("/api/v1/query_exemplars?query=" + enc(metric) + "&start=" + (now - 600)
          + "&end=" + (now + 60)).get("data");
      Set<String> found = new HashSet<>();
      for (JsonNode series : data) {
        for (JsonNode exemplar : series.get("exemplars")) {
          found.add(exemplar.get("labels").get("trace_id").asString());
          assertThat(exemplar.get("labels").get("span_id").asString()).hasSize(16);
        }
      }
      assertThat(found).as("exemplar trace ids of %s", metric).isNotEmpty();
      assertThat(traceIds).as(metric).containsAll(found);
    }
  }

  @Test
  void everyMetricTheDashboardQueriesIsScraped() throws Exception {
    Set<String> queried = dashboardMetrics();
    Set<String> scraped = new HashSet<>();
    // Per-partition lag appears at the Kafka binder's next refresh after assignment (10 s).
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (!scraped.containsAll(queried) && System.nanoTime() < deadline) {
      Thread.sleep(500);
      get("/api/v1/label/__name__/values").get("data").forEach(n -> scraped.add(n.asString()));
    }
    assertThat(queried).as("metrics the dashboard queries").hasSizeGreaterThan(10);
    assertThat(scraped).as("scraped by a real Prometheus").containsAll(queried);
  }

  @Test
  void theNotifiersWebhookMetricsAreScraped() throws Exception {
    // Registered at start, so present (at zero) although no job here asked for a webhook.
    Set<String> expected = Set.of("inference_webhook_attempts_total",
        "inference_webhook_deliveries_total", "inference_webhook_pending",
        "inference_webhook_attempt_duration_seconds_bucket",
        "inference_webhook_attempt_duration_seconds_count",
        "inference_webhook_delivery_latency_seconds_bucket",
        "inference_webhook_delivery_latency_seconds_count");
    JsonNode series = get("/api/v1/series?match[]="
        + enc("{job=\"webhook-notifier\",__name__=~\"inference_webhook_.+\"}")).get("data");
    Set<String> names = new TreeSet<>();
    for (JsonNode one : series) {
      names.add(one.get("__name__").asString());
      assertThat(one.get("service").asString()).as("service label of %s", one)
          .isEqualTo("webhook-notifier");
    }
    assertThat(names).as("webhook metrics scraped from the notifier").containsAll(expected);
    JsonNode jobs = get("/api/v1/label/job/values").get("data");
    Set<String> scrapeJobs = new TreeSet<>();
    jobs.forEach(j -> scrapeJobs.add(j.asString()));
    assertThat(scrapeJobs).containsExactlyInAnyOrderElementsOf(SERVICES);
  }

  @Test
  void everyMetricHasHelpTextAndLabelsStayBounded() throws Exception {
    JsonNode metadata = get("/api/v1/metadata").get("data");
    int described = 0;
    for (var entry : metadata.properties()) {
      for (JsonNode meta : entry.getValue()) {
        assertThat(meta.get("help").asString()).as("HELP of %s", entry.getKey()).isNotBlank();
        described++;
      }
    }
    assertThat(described).isGreaterThan(100);

    Set<String> allowed = new HashSet<>(SCRAPE_LABELS);
    allowed.addAll(MetricCatalog.COMMON_LABELS);
    MetricCatalog.entries().forEach(e -> allowed.addAll(e.labels()));
    JsonNode series = get("/api/v1/series?match[]=" + enc("{__name__=~\"inference_.+\"}"))
        .get("data");
    assertThat(series).hasSizeGreaterThan(50);
    Set<String> values = new HashSet<>();
    for (JsonNode one : series) {
      for (var label : one.properties()) {
        assertThat(allowed).as("label %s of %s", label.getKey(), one.get("__name__").asString())
            .contains(label.getKey());
        values.add(label.getValue().asString());
      }
    }
    assertThat(values).as("no job or trace id is a label value")
        .doesNotContainAnyElementsOf(jobIds).doesNotContainAnyElementsOf(traceIds);
  }

  /** Metric names in every {@code expr} of the chart's dashboard. */
  static Set<String> dashboardMetrics() throws Exception {
    JsonNode dashboard = new dev.inferpipe.core.job.JobCodec().parseTree(Files.readAllBytes(DASHBOARD));
    Set<String> names = new TreeSet<>();
    collectExprs(dashboard, names);
    return names;
  }

  private static final Pattern METRIC = Pattern.compile(
      "\\b((?:inference|http_server|kafka_consumer|kafka_producer|process_memory)_[a-z0-9_]+)");

  private static void collectExprs(JsonNode node, Set<String> names) {
    if (node.isObject()) {
      for (var field : node.properties()) {
        if (field.getKey().equals("expr") && field.getValue().isString()) {
          Matcher m = METRIC.matcher(field.getValue().asString());
          while (m.find()) {
            names.add(m.group(1));
          }
        } else {
          collectExprs(field.getValue(), names);
        }
      }
    } else if (node.isArray()) {
      node.forEach(child -> collectExprs(child, names));
    }
  }

  private void awaitUp(Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      JsonNode result = query("up").get("data").get("result");
      long up = 0;
      for (JsonNode series : result) {
        up += series.get("value").get(1).asString().equals("1") ? 1 : 0;
      }
      if (up == SERVICES.size()) {
        return;
      }
      if (System.nanoTime() > deadline) {
        StringBuilder errors = new StringBuilder();
        get("/api/v1/targets").get("data").get("activeTargets").forEach(t -> errors
            .append(t.get("labels").get("job").asString()).append(": ")
            .append(t.get("lastError").asString()).append("; "));
        throw new AssertionError("not all " + SERVICES.size() + " targets are up: " + errors);
      }
      Thread.sleep(250);
    }
  }

  private JsonNode query(String promql) throws Exception {
    return get("/api/v1/query?query=" + enc(promql));
  }

  private JsonNode get(String path) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (true) {
      try {
        HttpResponse<String> response = http.send(
            HttpRequest.newBuilder(URI.create(prometheusUrl + path)).build(),
            HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as(path + ": " + response.body()).isEqualTo(200);
        return api.json(response.body());
      } catch (java.net.ConnectException e) {
        assertThat(System.nanoTime()).as("prometheus listening").isLessThan(deadline);
        Thread.sleep(200);
      }
    }
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  private static String hostPort(String url) {
    URI uri = URI.create(url);
    return "127.0.0.1:" + uri.getPort();
  }

  private static int freePort() throws Exception {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  /** A 48x48 PNG: a red circle on the left, a blue square at top right. */
  private static String scene() throws Exception {
    BufferedImage image = new BufferedImage(48, 48, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = image.createGraphics();
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, 48, 48);
    g.setColor(Color.RED);
    g.fillOval(4, 16, 16, 16);
    g.setColor(Color.BLUE);
    g.fillRect(30, 4, 12, 12);
    g.dispose();
    ByteArrayOutputStream png = new ByteArrayOutputStream();
    ImageIO.write(image, "png", png);
    return Base64.getEncoder().encodeToString(png.toByteArray());
  }
}
