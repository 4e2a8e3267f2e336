package dev.inferpipe.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;

/**
 * The chart's PrometheusRule: promtool checks its spec (a Prometheus rule file) and runs the unit
 * tests of src/test/resources/alerts/ on it, in which every alert fires on a broken series and
 * some stay quiet on healthy ones; each alert's runbook is a section of docs/OPERATIONS.md.
 */
class AlertRulesTest {
  static final Path OPERATIONS = Path.of("..", "docs", "OPERATIONS.md");
  static final String UNIT_TESTS = "/alerts/inferpipe-alerts-test.yaml";
  static final String RUNBOOK = "https://inferpipe.dev/docs/OPERATIONS.md";
  static final Set<String> ALERTS = Set.of("InferpipeConsumerLagGrowing",
      "InferpipeWorkerNotReady", "InferpipeDeadLetterRecords", "InferpipeJobFailureRatioHigh",
      "InferpipeQueueWaitP95OverSlo", "InferpipeS3Retries", "InferpipeStatusTableStale",
      "InferpipeWebhookDeliveriesFailing");

  @SuppressWarnings("unchecked")
  static Map<String, Object> prometheusRule(Map<String, Object> values) {
    Map<String, Object> all = new LinkedHashMap<>(values);
    all.put("alerts.enabled", true);
    List<Map<String, Object>> rules = HelmChartTest.objects(all).stream()
        .filter(o -> "PrometheusRule".equals(o.get("kind"))).toList();
    assertThat(rules).hasSize(1);
    return rules.get(0);
  }

  @SuppressWarnings("unchecked")
  static List<Map<String, Object>> rules(Map<String, Object> prometheusRule) {
    Map<String, Object> spec = (Map<String, Object>) prometheusRule.get("spec");
    return ((List<Map<String, Object>>) spec.get("groups")).stream()
        .flatMap(group -> ((List<Map<String, Object>>) group.get("rules")).stream()).toList();
  }

  @SuppressWarnings("unchecked")
  private static Map<String, String> stringMap(Map<String, Object> rule, String key) {
    return (Map<String, String>) rule.get(key);
  }

  /** {@code spec} as a rule file, and a copy of the unit tests next to it (they name rules.yaml). */
  private static Path writeRuleFiles(Path dir, Map<String, Object> prometheusRule)
      throws IOException {
    DumperOptions block = new DumperOptions();
    block.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
    block.setWidth(Integer.MAX_VALUE);
    Files.writeString(dir.resolve("rules.yaml"), new Yaml(block).dump(prometheusRule.get("spec")));
    Path tests = dir.resolve("inferpipe-alerts-test.yaml");
    try (var in = AlertRulesTest.class.getResourceAsStream(UNIT_TESTS)) {
      Files.write(tests, in.readAllBytes());
    }
    return tests;
  }

  @Test
  void theRulesPassPromtoolsCheckAndTheirUnitTests(@TempDir Path dir) throws Exception {
    Assumptions.assumeTrue(Monitoring.promtoolInstalled(), "promtool is not installed");
    Path tests = writeRuleFiles(dir, prometheusRule(Map.of()));
    Monitoring.Run check = Monitoring.promtool(dir, "check", "rules", "rules.yaml");
    assertThat(check.exit()).as(check.output()).isZero();
    assertThat(check.output()).contains("SUCCESS: " + ALERTS.size() + " rules found");
    Monitoring.Run test = Monitoring.promtool(dir, "test", "rules", tests.getFileName().toString());
    assertThat(test.exit()).as(test.output()).isZero();
    assertThat(test.output()).contains("SUCCESS").doesNotContain("FAILED");
  }

  @Test
  void promtoolFailsTheUnitTestsWhenAnAlertNoLongerFires(@TempDir Path dir) throws Exception {
    Assumptions.assumeTrue(Monitoring.promtoolInstalled(), "promtool is not installed");
    // The SLO raised out of reach: the queue-wait test case must now fail.
    Map<String, Object> prometheusRule = prometheusRule(Map.of());
    Map<String, Object> rule = rules(prometheusRule).stream()
        .filter(r -> r.get("alert").equals("InferpipeQueueWaitP95OverSlo")).findFirst().orElseThrow();
    assertThat((String) rule.get("expr")).endsWith("> 60");
    rule.put("expr", rule.get("expr") + "00");
    Path tests = writeRuleFiles(dir, prometheusRule);
    Monitoring.Run test = Monitoring.promtool(dir, "test", "rules", tests.getFileName().toString());
    assertThat(test.exit()).as(test.output()).isNotZero();
    assertThat(test.output()).contains("InferpipeQueueWaitP95OverSlo");
  }

  @Test
  @SuppressWarnings("unchecked")
  void theUnitTestsMakeEveryAlertFireAndShowSomeStayQuiet() throws IOException {
    Map<String, Object> file;
    try (var in = AlertRulesTest.class.getResourceAsStream(UNIT_TESTS)) {
      file = new Yaml(new LoaderOptions()).load(in);
    }
    Set<String> fired = new HashSet<>();
    Set<String> quiet = new HashSet<>();
    for (Map<String, Object> test : (List<Map<String, Object>>) file.get("tests")) {
      for (Map<String, Object> eval : (List<Map<String, Object>>) test.get("alert_rule_test")) {
        List<Map<String, Object>> expected = (List<Map<String, Object>>) eval.get("exp_alerts");
        (expected.isEmpty() ? quiet : fired).add((String) eval.get("alertname"));
        for (Map<String, Object> alert : expected) {
          assertThat((Map<String, Object>) alert.get("exp_annotations"))
              .containsOnlyKeys("summary", "description", "runbook_url");
          assertThat((Map<String, Object>) alert.get("exp_labels")).containsKey("severity");
        }
      }
    }
    assertThat(fired).containsExactlyInAnyOrderElementsOf(ALERTS);
    assertThat(quiet).hasSizeGreaterThanOrEqualTo(1);
  }

  @Test
  void everyAlertHasForSeverityAnnotationsAndARunbookSection() throws IOException {
    Set<String> anchors = anchors(Files.readString(OPERATIONS));
    List<Map<String, Object>> rules = rules(prometheusRule(Map.of()));
    assertThat(rules).extracting(r -> (String) r.get("alert"))
        .containsExactlyInAnyOrderElementsOf(ALERTS);
    for (Map<String, Object> rule : rules) {
      String alert = (String) rule.get("alert");
      assertThat(String.valueOf(rule.get("for"))).as("for of %s", alert).matches("[0-9]+[smh]");
      assertThat(stringMap(rule, "labels").get("severity")).as(alert)
          .isIn("critical", "warning", "info");
      Map<String, String> annotations = stringMap(rule, "annotations");
      assertThat(annotations).as(alert).containsKeys("summary", "description", "runbook_url");
      String url = annotations.get("runbook_url");
      assertThat(url).as(alert).isEqualTo(RUNBOOK + "#" + alert.toLowerCase(Locale.ROOT));
      assertThat(anchors).as("docs/OPERATIONS.md has a section for %s", alert)
          .contains(url.substring(url.indexOf('#') + 1));
    }
  }

  /** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
  static Set<String> anchors(String markdown) {
    Set<String> anchors = new HashSet<>();
    boolean fenced = false;
    for (String line : markdown.split("\n")) {
      if (line.startsWith("```")) {
        fenced = !fenced;
      } else if (!fenced && line.matches("#{1,6} .*")) {
        anchors.add(line.replaceFirst("#+ ", "").trim().toLowerCase(Locale.ROOT)
            .replaceAll("[^\\p{L}\\p{N} _-]", "").replace(' ', '-'));
      }
    }
    return anchors;
  }

  @Test
  void everyRuleNamesOnlyExposedMetricsInTheReleaseNamespace() {
    for (Map<String, Object> rule : rules(prometheusRule(Map.of()))) {
      String expr = (String) rule.get("expr");
      assertThat(Monitoring.metricNames(expr)).as(expr).isNotEmpty()
          .allMatch(Monitoring::exposed);
      Matcher selector = Pattern.compile("\\{([^}]*)}").matcher(expr);
      int selectors = 0;
      while (selector.find()) {
        selectors++;
        assertThat(selector.group(1)).as("a selector of %s", rule.get("alert"))
            .contains("namespace=\"ml\"");
      }
      assertThat(selectors).as("selectors of %s", rule.get("alert")).isPositive();
    }
  }

  @Test
  @SuppressWarnings("unchecked")
  void thresholdsLabelsAndTheRunbookBaseComeFromValues() {
    Map<String, Object> values = new LinkedHashMap<>();
    values.put("alerts.queueWait.p95Seconds", 30);
    values.put("alerts.queueWait.for", "20m");
    values.put("alerts.failureRatio.threshold", 0.25);
    values.put("alerts.failureRatio.minJobs", 50);
    values.put("alerts.consumerLag.minRecords", 500);
    values.put("alerts.s3Retries.ratio", 0.5);
    values.put("alerts.statusTableStale.seconds", 120);
    values.put("alerts.webhookFailures.attemptRatio", 0.75);
    values.put("alerts.webhookFailures.minAttempts", 40);
    values.put("alerts.webhookFailures.deliveryRatio", 0.2);
    values.put("alerts.webhookFailures.minDeliveries", 5);
    values.put("alerts.webhookFailures.for", "30m");
    values.put("alerts.workerNotReady.severity", "critical");
    values.put("alerts.ruleLabels.team", "ml");
    values.put("alerts.labels.release", "kube-prometheus-stack");
    values.put("alerts.runbookBaseUrl", "https://wiki.example/inferpipe/operations");
    Map<String, Object> prometheusRule = prometheusRule(values);
    Map<String, Object> metadata = (Map<String, Object>) prometheusRule.get("metadata");
    assertThat((Map<String, Object>) metadata.get("labels"))
        .containsEntry("release", "kube-prometheus-stack");
    Map<String, Map<String, Object>> byName = rules(prometheusRule).stream()
        .collect(Collectors.toMap(r -> (String) r.get("alert"), r -> r));
    assertThat((String) byName.get("InferpipeQueueWaitP95OverSlo").get("expr")).endsWith("> 30");
    assertThat(byName.get("InferpipeQueueWaitP95OverSlo").get("for")).isEqualTo("20m");
    assertThat((String) byName.get("InferpipeJobFailureRatioHigh").get("expr"))
        .contains(") > 0.25").endsWith(">= 50");
    assertThat((String) byName.get("InferpipeConsumerLagGrowing").get("expr")).contains("> 500");
    assertThat((String) byName.get("InferpipeS3Retries").get("expr")).endsWith("> 0.5");
    assertThat((String) byName.get("InferpipeStatusTableStale").get("expr")).endsWith("> 120");
    assertThat((String) byName.get("InferpipeWebhookDeliveriesFailing").get("expr"))
        .contains(") > 0.75", ">= 40\n", ") > 0.2").endsWith(">= 5");
    assertThat(byName.get("InferpipeWebhookDeliveriesFailing").get("for")).isEqualTo("30m");
    assertThat(stringMap(byName.get("InferpipeWorkerNotReady"), "labels"))
        .containsEntry("severity", "critical");
    for (Map<String, Object> rule : byName.values()) {
      assertThat(stringMap(rule, "labels")).as("labels of %s", rule.get("alert"))
          .containsEntry("team", "ml").containsKey("severity");
      assertThat(stringMap(rule, "annotations").get("runbook_url"))
          .startsWith("https://wiki.example/inferpipe/operations#inferpipe");
    }
  }

  @Test
  void theWebhookAlertComesWithTheNotifier() {
    assertThat(rules(prometheusRule(Map.of("webhookNotifier.enabled", false))))
        .extracting(r -> (String) r.get("alert"))
        .containsExactlyInAnyOrderElementsOf(ALERTS.stream()
            .filter(a -> !a.equals("InferpipeWebhookDeliveriesFailing")).toList());
  }

  @Test
  void nothingRendersWithAlertsOff() {
    assertThat(HelmChartTest.objects(Map.of()))
        .noneMatch(o -> "PrometheusRule".equals(o.get("kind")));
  }

  @Test
  void valuesSchemaCoversEveryAlertValueWithItsDefault() throws IOException {
    Monitoring.assertSchemaCoversWithDefaults("alerts");
    assertThatThrownBy(() -> HelmChartTest.render(Map.of("alerts.queueWait.p95Seconds", -1)))
        .hasMessageContaining("p95Seconds");
    assertThatThrownBy(() -> HelmChartTest.render(Map.of("alerts.failureRatio.threshold", 10)))
        .hasMessageContaining("threshold");
    assertThatThrownBy(() -> HelmChartTest.render(Map.of("alerts.deadLetter.severity", "page")))
        .hasMessageContaining("severity");
    assertThatThrownBy(() -> HelmChartTest.render(Map.of("alerts.statusTableStale.for", "two")))
        .hasMessageContaining("statusTableStale");
    assertThatThrownBy(() -> HelmChartTest.render(Map.of("alerts.webhookFailures.attemptRatio",
        1.5))).hasMessageContaining("attemptRatio");
    assertThatThrownBy(() -> HelmChartTest.render(Map.of("alerts.webhookFailures.minDeliveries",
        0))).hasMessageContaining("minDeliveries");
    // severity is the rule's own label; a duplicate key would break the rendered YAML.
    assertThatThrownBy(() -> HelmChartTest.render(Map.of("alerts.ruleLabels.severity", "page")))
        .hasMessageContaining("ruleLabels");
    assertThatThrownBy(() -> HelmChartTest.render(Map.of("alerts.runbookBaseUrl",
        "https://inferpipe.dev/docs/OPERATIONS.md#alerts"))).hasMessageContaining("runbookBaseUrl");
  }
}
