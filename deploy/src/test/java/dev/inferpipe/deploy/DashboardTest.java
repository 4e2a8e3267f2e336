package dev.inferpipe.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;

/** The Grafana dashboard the chart ships (dashboards/inferpipe.json) and its ConfigMaps. */
class DashboardTest {
  static final Path DASHBOARD = HelmChartTest.CHART.resolve("dashboards/inferpipe.json");
  private static final String DATASOURCE = "{\"type\":\"prometheus\",\"uid\":\"${datasource}\"}";

  /** One query of the dashboard: a panel's target, or a variable's label_values(). */
  record Query(String panel, String expr, boolean exemplar, String format) {}

  private static final Map<String, Predicate<List<Query>>> TOPICS = topics();

  /** What an operator must find on the dashboard, each as a test on one panel's queries. */
  private static Map<String, Predicate<List<Query>>> topics() {
    Map<String, Predicate<List<Query>>> topics = new LinkedHashMap<>();
    topics.put("queue wait p50/p95/p99 per task and model",
        quantiles("inference_queue_wait_seconds", "task, model", true, "0.5", "0.95", "0.99"));
    topics.put("request duration p50/p95/p99 per task and model",
        quantiles("inference_request_duration_seconds", "task, model", true, "0.5", "0.95", "0.99"));
    topics.put("jobs by outcome", any("inference_jobs_total", "by (outcome)", "rate("));
    topics.put("consumer lag per partition (KEDA trigger)",
        any("kafka_consumer_fetch_manager_records_lag", "partition", "client=~\"requests"));
    topics.put("sampling step latency p50/p95 by batch_size",
        quantiles("inference_sampling_step_seconds", "task, batch_size", true, "0.5", "0.95"));
    topics.put("mean rows per call",
        any("inference_batch_size_rows_sum", "inference_batch_size_rows_count", "/"));
    topics.put("batch size histogram", queries -> queries.stream().anyMatch(q ->
        q.expr().contains("inference_batch_size_rows_bucket") && "heatmap".equals(q.format())));
    topics.put("model load time", any("inference_model_load_seconds_sum",
        "inference_model_load_seconds_count"));
    topics.put("S3 PUT latency p95", quantiles("inference_s3_put_seconds", "", false, "0.95"));
    topics.put("S3 retries rate", any("rate(inference_s3_put_retries_total"));
    topics.put("DLQ records rate by code", any("rate(inference_dlq_records_total", "code)"));
    topics.put("API 429s rate", any("rate(http_server_requests_seconds_count", "status=\"429\""));
    topics.put("worker readiness", any("inference_worker_ready", "by (service)"));
    topics.put("status-table staleness", any("inference_status_table_staleness_seconds"));
    topics.put("webhook deliveries by how they ended",
        any("rate(inference_webhook_deliveries_total", "by (state)"));
    topics.put("webhook attempts by outcome",
        any("rate(inference_webhook_attempts_total", "by (outcome)"));
    topics.put("webhook deliveries pending", any("inference_webhook_pending"));
    topics.put("webhook delivery latency p50/p95",
        quantiles("inference_webhook_delivery_latency_seconds", "", false, "0.5", "0.95"));
    return topics;
  }

  /** A query whose expression contains every fragment. */
  private static Predicate<List<Query>> any(String... fragments) {
    return queries -> queries.stream().anyMatch(q -> Set.of(fragments).stream()
        .allMatch(q.expr()::contains));
  }

  /** One histogram_quantile per quantile over the histogram, grouped by {@code by}. */
  private static Predicate<List<Query>> quantiles(String histogram, String by, boolean exemplar,
      String... quantiles) {
    String grouping = by.isEmpty() ? "by (le)" : "by (le, " + by + ")";
    return queries -> Set.of(quantiles).stream().allMatch(quantile -> queries.stream()
        .anyMatch(q -> q.expr().startsWith("histogram_quantile(" + quantile + ", ")
            && q.expr().contains(histogram + "_bucket") && q.expr().contains(grouping)
            && (!exemplar || q.exemplar())));
  }

  static JsonObject dashboardFile() throws IOException {
    return JsonParser.parseString(Files.readString(DASHBOARD)).getAsJsonObject();
  }

  /** Every panel, those nested in (collapsed) rows included. */
  static List<JsonObject> panels(JsonObject dashboard) {
    List<JsonObject> panels = new ArrayList<>();
    for (JsonElement element : dashboard.getAsJsonArray("panels")) {
      JsonObject panel = element.getAsJsonObject();
      panels.add(panel);
      if (panel.has("panels")) {
        panel.getAsJsonArray("panels").forEach(nested -> panels.add(nested.getAsJsonObject()));
      }
    }
    return panels;
  }

  static List<JsonObject> targets(JsonObject panel) {
    List<JsonObject> targets = new ArrayList<>();
    if (panel.has("targets")) {
      panel.getAsJsonArray("targets").forEach(t -> targets.add(t.getAsJsonObject()));
    }
    return targets;
  }

  static List<JsonObject> variables(JsonObject dashboard) {
    List<JsonObject> variables = new ArrayList<>();
    dashboard.getAsJsonObject("templating").getAsJsonArray("list")
        .forEach(v -> variables.add(v.getAsJsonObject()));
    return variables;
  }

  private static String variableQuery(JsonObject variable) {
    JsonElement query = variable.get("query");
    return query.isJsonObject() ? query.getAsJsonObject().get("query").getAsString()
        : query.getAsString();
  }

  /** Every query: panel targets, then the query variables' label_values(). */
  static List<Query> queries(JsonObject dashboard) {
    List<Query> queries = new ArrayList<>();
    for (JsonObject panel : panels(dashboard)) {
      for (JsonObject target : targets(panel)) {
        queries.add(new Query(panel.get("title").getAsString(), target.get("expr").getAsString(),
            target.has("exemplar") && target.get("exemplar").getAsBoolean(),
            target.has("format") ? target.get("format").getAsString() : "time_series"));
      }
    }
    for (JsonObject variable : variables(dashboard)) {
      if ("query".equals(variable.get("type").getAsString())) {
        queries.add(new Query("variable " + variable.get("name").getAsString(),
            variableQuery(variable), false, "variable"));
      }
    }
    return queries;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> configMap(List<Map<String, Object>> objects, String name) {
    return objects.stream().filter(o -> "ConfigMap".equals(o.get("kind"))
            && name.equals(((Map<String, Object>) o.get("metadata")).get("name")))
        .findFirst().orElseThrow(() -> new AssertionError("no ConfigMap " + name));
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> metadata(Map<String, Object> object) {
    return (Map<String, Object>) object.get("metadata");
  }

  @SuppressWarnings("unchecked")
  private static Map<String, String> data(Map<String, Object> object) {
    return (Map<String, String>) object.get("data");
  }

  @Test
  @SuppressWarnings("unchecked")
  void theChartShipsTheDashboardFileInAConfigMapForTheGrafanaSidecar() throws IOException {
    List<Map<String, Object>> objects = HelmChartTest.objects(Map.of("dashboards.enabled", true));
    Map<String, Object> map = configMap(objects, "inferpipe-dashboard");
    RenderedManifests.validate(map);
    assertThat(metadata(map).get("namespace")).isEqualTo("ml");
    assertThat((Map<String, Object>) metadata(map).get("labels"))
        .containsEntry("grafana_dashboard", "1")
        .containsEntry("app.kubernetes.io/component", "monitoring");
    JsonObject shipped = JsonParser.parseString(data(map).get("inferpipe.json")).getAsJsonObject();
    assertThat(shipped).isEqualTo(dashboardFile());
    assertThat(shipped.get("uid").getAsString()).isEqualTo("inferpipe");
    assertThat(shipped.get("schemaVersion").getAsInt()).isBetween(36, 41);
    // Only the dashboard: the datasource is a separate opt-in.
    assertThat(objects).noneMatch(o -> metadata(o).get("name").equals("inferpipe-datasource"));

    // Labels, annotations and the namespace follow the values (a sidecar may watch only
    // Grafana's namespace).
    Map<String, Object> custom = configMap(HelmChartTest.objects(Map.of("dashboards.enabled", true,
        "dashboards.labels.team", "ml", "dashboards.annotations.grafana_folder", "Inferpipe",
        "dashboards.namespace", "monitoring")), "inferpipe-dashboard");
    assertThat(metadata(custom).get("namespace")).isEqualTo("monitoring");
    assertThat((Map<String, Object>) metadata(custom).get("labels"))
        .containsEntry("team", "ml").containsEntry("grafana_dashboard", "1");
    assertThat((Map<String, Object>) metadata(custom).get("annotations"))
        .containsEntry("grafana_folder", "Inferpipe");
  }

  @Test
  void nothingRendersWithDashboardsOff() {
    List<Map<String, Object>> defaults = HelmChartTest.objects(Map.of());
    assertThat(defaults).noneMatch(o -> "ConfigMap".equals(o.get("kind")));
    // The datasource belongs to the dashboard: on its own it renders nothing either.
    assertThat(HelmChartTest.objects(Map.of("dashboards.datasource.enabled", true)))
        .noneMatch(o -> "ConfigMap".equals(o.get("kind")));
  }

  @Test
  void everyPanelAndTargetReadsTheDatasourceVariable() throws IOException {
    JsonObject dashboard = dashboardFile();
    JsonObject datasource = JsonParser.parseString(DATASOURCE).getAsJsonObject();
    List<JsonObject> variables = variables(dashboard);
    assertThat(variables).filteredOn(v -> v.get("name").getAsString().equals("datasource"))
        .singleElement().satisfies(v -> {
          assertThat(v.get("type").getAsString()).isEqualTo("datasource");
          assertThat(v.get("query").getAsString()).isEqualTo("prometheus");
        });
    List<JsonObject> panels = panels(dashboard);
    assertThat(panels).hasSizeGreaterThan(TOPICS.size());
    for (JsonObject panel : panels) {
      String title = panel.get("title").getAsString();
      assertThat(panel.get("datasource")).as("datasource of panel %s", title).isEqualTo(datasource);
      for (JsonObject target : targets(panel)) {
        assertThat(target.get("datasource")).as("datasource of a target of %s", title)
            .isEqualTo(datasource);
      }
      if (!"row".equals(panel.get("type").getAsString())) {
        assertThat(targets(panel)).as("queries of %s", title).isNotEmpty();
      }
    }
    for (JsonObject variable : variables) {
      if ("query".equals(variable.get("type").getAsString())) {
        assertThat(variable.get("datasource")).as("datasource of variable %s",
            variable.get("name")).isEqualTo(datasource);
      }
    }
    // No datasource is named anywhere else: the JSON mentions no uid but the variable's.
    assertThat(Files.readString(DASHBOARD).replace("\"uid\": \"${datasource}\"", "")
        .replace("\"uid\": \"inferpipe\"", "")).doesNotContain("\"uid\"");
  }

  @Test
  void everyTopicHasAPanel() throws IOException {
    Map<String, List<Query>> byPanel = queries(dashboardFile()).stream()
        .collect(Collectors.groupingBy(Query::panel, LinkedHashMap::new, Collectors.toList()));
    TOPICS.forEach((topic, test) -> assertThat(byPanel.values()).as(topic).anyMatch(test));
  }

  @Test
  void histogramsWithExemplarsAskForThem() throws IOException {
    for (String histogram : List.of("inference_queue_wait_seconds_bucket",
        "inference_request_duration_seconds_bucket", "inference_sampling_step_seconds_bucket")) {
      assertThat(queries(dashboardFile())).filteredOn(q -> q.expr().contains(histogram))
          .as(histogram).isNotEmpty().allMatch(Query::exemplar);
    }
  }

  @Test
  void everyQueryNamesOnlyExposedMetrics() throws IOException {
    for (Query query : queries(dashboardFile())) {
      Set<String> names = Monitoring.metricNames(query.expr());
      assertThat(names).as("metrics of %s: %s", query.panel(), query.expr()).isNotEmpty()
          .allMatch(Monitoring::exposed);
    }
  }

  @Test
  void theMetricNameExtractorFindsNamesAndOnlyNames() {
    assertThat(Monitoring.metricNames("histogram_quantile(0.95, sum by (le, task) (rate("
        + "inference_queue_wait_seconds_bucket{namespace=~\"$namespace\", model=~\"a|b\"}"
        + "[$__rate_interval]))) > 1e-3 and on (task) count(up offset 10m) or vector(0)"))
        .containsExactly("inference_queue_wait_seconds_bucket", "up");
    assertThat(Monitoring.metricNames(
        "label_values(inference_jobs_total{namespace=~\"$namespace\"}, model)"))
        .containsExactly("inference_jobs_total");
    assertThat(Monitoring.exposed("inference_queue_wait_seconds_count")).isTrue();
    assertThat(Monitoring.exposed("inference_queue_wait_seconds")).isFalse();
    assertThat(Monitoring.exposed("inference_jobs_total_bucket")).isFalse();
    assertThat(Monitoring.exposed("inference_queue_wait_seconds_max")).isFalse();
  }

  /** Grafana's variables replaced by what Grafana would put there, for promtool. */
  private static String substituted(String expr) {
    return expr.replace("$__rate_interval", "1m").replace("$__range", "1h")
        .replace("$namespace", ".*").replace("$service", ".*").replace("$model", ".*");
  }

  @Test
  void everyPanelQueryIsValidPromql(@TempDir Path dir) throws Exception {
    Assumptions.assumeTrue(Monitoring.promtoolInstalled(), "promtool is not installed");
    List<Map<String, String>> rules = new ArrayList<>();
    for (Query query : queries(dashboardFile())) {
      if (!query.format().equals("variable")) {
        rules.add(Map.of("record", "dashboard:query_" + rules.size(),
            "expr", substituted(query.expr())));
      }
    }
    assertThat(rules).allSatisfy(rule -> assertThat(rule.get("expr")).doesNotContain("$"));
    Path file = dir.resolve("dashboard-queries.yaml");
    Files.writeString(file, new Yaml(new LoaderOptions()).dump(
        Map.of("groups", List.of(Map.of("name", "dashboard", "rules", rules)))));
    Monitoring.Run check = Monitoring.promtool(dir, "check", "rules", file.toString());
    assertThat(check.exit()).as(check.output()).isZero();
    assertThat(check.output()).contains("SUCCESS: " + rules.size() + " rules found");
  }

  @Test
  @SuppressWarnings("unchecked")
  void theOptionalDatasourceLinksExemplarsToTheTraceUi() {
    Map<String, Object> base = Map.of("dashboards.enabled", true,
        "dashboards.datasource.enabled", true,
        "dashboards.datasource.url", "http://prometheus-operated.monitoring:9090");
    Map<String, Object> withUrl = new LinkedHashMap<>(base);
    withUrl.put("dashboards.traceUrl", "https://jaeger.example/trace/{trace_id}");
    Map<String, Object> map = configMap(HelmChartTest.objects(withUrl), "inferpipe-datasource");
    assertThat((Map<String, Object>) metadata(map).get("labels"))
        .containsEntry("grafana_datasource", "1");
    Map<String, Object> provisioning = new Yaml(new LoaderOptions())
        .load(data(map).get("inferpipe-datasource.yaml"));
    Map<String, Object> source = ((List<Map<String, Object>>) provisioning.get("datasources")).get(0);
    assertThat(source).containsEntry("type", "prometheus")
        .containsEntry("url", "http://prometheus-operated.monitoring:9090");
    List<Map<String, Object>> destinations = (List<Map<String, Object>>)
        ((Map<String, Object>) source.get("jsonData")).get("exemplarTraceIdDestinations");
    assertThat(destinations).singleElement().satisfies(d -> assertThat(d)
        .containsEntry("name", "trace_id")
        .containsEntry("url", "https://jaeger.example/trace/${__value.raw}"));

    // The console's trace link is the default; a Grafana trace datasource replaces it.
    Map<String, Object> fromConsole = new LinkedHashMap<>(base);
    fromConsole.put("producerApi.traceUrlTemplate", "https://tempo.example/trace/{trace_id}");
    assertThat(data(configMap(HelmChartTest.objects(fromConsole), "inferpipe-datasource"))
        .get("inferpipe-datasource.yaml")).contains("https://tempo.example/trace/${__value.raw}");
    Map<String, Object> tempo = new LinkedHashMap<>(fromConsole);
    tempo.put("dashboards.datasource.traceDatasourceUid", "tempo");
    assertThat(data(configMap(HelmChartTest.objects(tempo), "inferpipe-datasource"))
        .get("inferpipe-datasource.yaml")).contains("datasourceUid: \"tempo\"")
        .doesNotContain("url: \"https://tempo");

    assertThatThrownBy(() -> HelmChartTest.render(Map.of("dashboards.enabled", true,
        "dashboards.datasource.enabled", true,
        "dashboards.traceUrl", "https://jaeger.example/trace/{trace_id}")))
        .hasMessageContaining("dashboards.datasource.url is required");
    assertThatThrownBy(() -> HelmChartTest.render(base))
        .hasMessageContaining("exemplars need a trace destination");
    Map<String, Object> noPlaceholder = new LinkedHashMap<>(base);
    noPlaceholder.put("dashboards.traceUrl", "https://jaeger.example/search");
    assertThatThrownBy(() -> HelmChartTest.render(noPlaceholder))
        .hasMessageContaining("must contain {trace_id}");
  }

  @Test
  void valuesSchemaCoversEveryDashboardValueWithItsDefault() throws IOException {
    Monitoring.assertSchemaCoversWithDefaults("dashboards");
    assertThatThrownBy(() -> HelmChartTest.render(Map.of("dashboards.enabeld", true)))
        .hasMessageContaining("enabeld");
    assertThatThrownBy(() -> HelmChartTest.render(Map.of("dashboards.traceUrl",
        "jaeger.example/trace/{trace_id}"))).hasMessageContaining("traceUrl");
    assertThatThrownBy(() -> HelmChartTest.render(Map.of("dashboards.labels.grafana_dashboard",
        1))).hasMessageContaining("grafana_dashboard");
  }
}
