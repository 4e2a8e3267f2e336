package dev.inferpipe.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.Gson;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;

/**
 * What the dashboard and the alerts may query, and the tools their tests share: a PromQL metric
 * name extractor, promtool, and the values-schema check of the monitoring values.
 */
final class Monitoring {
  enum Type { COUNTER, GAUGE, HISTOGRAM }

  /**
   * Every metric the services expose that the chart's dashboard and alerts may use, by its
   * Prometheus name (docs/OBSERVABILITY.md). A query naming anything else would show nothing.
   */
  static final Map<String, Type> EXPOSED = Map.ofEntries(
      // gpu-consumer
      Map.entry("inference_queue_wait_seconds", Type.HISTOGRAM),
      Map.entry("inference_request_duration_seconds", Type.HISTOGRAM),
      Map.entry("inference_sampling_step_seconds", Type.HISTOGRAM),
      Map.entry("inference_batch_size_rows", Type.HISTOGRAM),
      Map.entry("inference_batch_join_wait_seconds", Type.HISTOGRAM),
      Map.entry("inference_batch_active_rows", Type.GAUGE),
      Map.entry("inference_batch_waiting_jobs", Type.GAUGE),
      Map.entry("inference_model_load_seconds", Type.HISTOGRAM),
      Map.entry("inference_model_cache_requests_total", Type.COUNTER),
      Map.entry("inference_jobs_total", Type.COUNTER),
      Map.entry("inference_dlq_records_total", Type.COUNTER),
      Map.entry("inference_tokens_total", Type.COUNTER),
      Map.entry("inference_partitions_paused", Type.GAUGE),
      Map.entry("process_memory_peak_bytes", Type.GAUGE),
      // storage-sink
      Map.entry("inference_s3_put_seconds", Type.HISTOGRAM),
      Map.entry("inference_s3_put_retries_total", Type.COUNTER),
      Map.entry("inference_s3_put_failures_total", Type.COUNTER),
      Map.entry("inference_s3_put_bytes_total", Type.COUNTER),
      Map.entry("inference_sink_duplicates_total", Type.COUNTER),
      // producer-api
      Map.entry("http_server_requests_seconds", Type.HISTOGRAM),
      Map.entry("inference_submissions_total", Type.COUNTER),
      Map.entry("inference_status_store_jobs", Type.GAUGE),
      // webhook-notifier
      Map.entry("inference_webhook_attempts_total", Type.COUNTER),
      Map.entry("inference_webhook_deliveries_total", Type.COUNTER),
      Map.entry("inference_webhook_pending", Type.GAUGE),
      Map.entry("inference_webhook_attempt_duration_seconds", Type.HISTOGRAM),
      Map.entry("inference_webhook_delivery_latency_seconds", Type.HISTOGRAM),
      // every service
      Map.entry("inference_worker_ready", Type.GAUGE),
      Map.entry("inference_status_table_staleness_seconds", Type.GAUGE),
      // Kafka client metrics (Micrometer KafkaClientMetrics)
      Map.entry("kafka_consumer_fetch_manager_records_lag", Type.GAUGE));

  private static final List<String> HISTOGRAM_SUFFIXES = List.of("_bucket", "_count", "_sum");
  /** PromQL words that are neither functions (those are followed by '(') nor metrics. */
  private static final Set<String> KEYWORDS = Set.of("and", "or", "unless", "offset", "bool", "by",
      "without", "on", "ignoring", "group_left", "group_right", "inf", "nan", "atan2");

  private Monitoring() {}

  /** Whether a series name is an exposed metric (a histogram's by one of its series suffixes). */
  static boolean exposed(String series) {
    if (EXPOSED.get(series) != null && EXPOSED.get(series) != Type.HISTOGRAM) {
      return true;
    }
    return HISTOGRAM_SUFFIXES.stream().anyMatch(suffix -> series.endsWith(suffix)
        && EXPOSED.get(series.substring(0, series.length() - suffix.length())) == Type.HISTOGRAM);
  }

  /**
   * The metric names a PromQL expression (or a Grafana label_values() query) selects. Strings,
   * label matchers, ranges, grouping clauses and Grafana variables are removed first; what is
   * left that is not a function call, keyword or number is a metric name.
   */
  static Set<String> metricNames(String expr) {
    Set<String> names = new LinkedHashSet<>();
    Matcher labelValues = Pattern.compile("label_values\\(\\s*([a-zA-Z_:][a-zA-Z0-9_:]*)")
        .matcher(expr);
    if (labelValues.find()) {
      names.add(labelValues.group(1));
      return names;
    }
    String s = expr.replaceAll("\"(?:[^\"\\\\]|\\\\.)*\"", "\"\"")
        .replaceAll("\\{[^}]*}", " ")
        .replaceAll("\\[[^]]*]", " ")
        .replaceAll("(?i)\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)", " ")
        .replaceAll("\\$\\{?\\w+}?", " ");
    Matcher word = Pattern.compile("(?<![0-9.])[a-zA-Z_:][a-zA-Z0-9_:]*").matcher(s);
    while (word.find()) {
      String name = word.group();
      boolean call = s.substring(word.end()).stripLeading().startsWith("(");
      if (!call && !KEYWORDS.contains(name.toLowerCase(Locale.ROOT))) {
        names.add(name);
      }
    }
    return names;
  }

  static boolean promtoolInstalled() {
    return Stream.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
        .anyMatch(dir -> !dir.isEmpty() && Files.isExecutable(Path.of(dir, "promtool")));
  }

  record Run(int exit, String output) {}

  /** Runs promtool with {@code args} in {@code dir}. */
  static Run promtool(Path dir, String... args) throws IOException, InterruptedException {
    List<String> command = Stream.concat(Stream.of("promtool"), Stream.of(args)).toList();
    Process process = new ProcessBuilder(command).directory(dir.toFile())
        .redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor(2, TimeUnit.MINUTES)).as("promtool %s finished", args[0]).isTrue();
    return new Run(process.exitValue(), output);
  }

  /**
   * Asserts that values.schema.json describes every value under {@code top} in values.yaml: each
   * object is an object in the schema with the same keys and no others, each leaf (a free-form
   * map included) has a type (or an enum or a $ref) and its default is the value values.yaml gives.
   */
  static void assertSchemaCoversWithDefaults(String top) throws IOException {
    Map<String, Object> values = new Yaml(new LoaderOptions()).load(
        Files.readString(HelmChartTest.CHART.resolve("values.yaml")));
    JsonObject schema = JsonParser.parseString(
        Files.readString(HelmChartTest.CHART.resolve("values.schema.json"))).getAsJsonObject();
    assertCovered(top, values.get(top), schema.getAsJsonObject("properties").getAsJsonObject(top));
  }

  @SuppressWarnings("unchecked")
  private static void assertCovered(String path, Object value, JsonObject node) {
    assertThat(node).as("schema of %s", path).isNotNull();
    // An object of fixed keys (unknown ones refused) is walked; a free-form map is one value.
    if (node.has("properties") && "false".equals(String.valueOf(node.get("additionalProperties")))) {
      assertThat(value).as("%s is an object in values.yaml", path).isInstanceOf(Map.class);
      Map<String, Object> map = (Map<String, Object>) value;
      JsonObject properties = node.getAsJsonObject("properties");
      assertThat(properties.keySet()).as("schema keys of %s", path)
          .containsExactlyInAnyOrderElementsOf(map.keySet());
      map.forEach((key, child) -> assertCovered(path + "." + key, child,
          properties.getAsJsonObject(key)));
      return;
    }
    assertThat(node.has("type") || node.has("$ref") || node.has("enum"))
        .as("%s has a type", path).isTrue();
    assertThat(node.has("default")).as("%s has a default", path).isTrue();
    assertThat(normalise(new Gson().fromJson(node.get("default"), Object.class)))
        .as("default of %s", path).isEqualTo(normalise(value));
  }

  /** Numbers as doubles and maps as string maps, so YAML's and JSON's readings compare. */
  private static Object normalise(Object value) {
    if (value instanceof Number number) {
      return number.doubleValue();
    }
    if (value instanceof Map<?, ?> map) {
      return map.entrySet().stream().collect(Collectors.toMap(
          e -> String.valueOf(e.getKey()), e -> normalise(e.getValue())));
    }
    return value;
  }
}
