package dev.inferpipe.core.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inferpipe.core.config.Env;
import dev.inferpipe.core.config.KafkaSettings;
import dev.inferpipe.core.http.ManagementServer;
import dev.inferpipe.core.kafka.KafkaClients;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Timer;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.context.Scope;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.Consumer;
import org.junit.jupiter.api.Test;

class MetricCatalogTest {
  private static final Pattern HELP = Pattern.compile("^# HELP (\\S+) ?(.*)$", Pattern.MULTILINE);

  private static Telemetry telemetry() {
    return Telemetry.builder("gpu-consumer").env(Env.of(Map.of())).build();
  }

  private static List<String> bucketBounds(String scrape, String family) {
    Matcher m = Pattern.compile("^" + family + "_bucket\\{.*?le=\"([^\"]+)\".*$", Pattern.MULTILINE)
        .matcher(scrape);
    List<String> bounds = new java.util.ArrayList<>();
    while (m.find()) {
      bounds.add(m.group(1));
    }
    return bounds;
  }

  @Test
  void histogramsHaveTheChosenBucketsNotMicrometersDefaults() {
    try (Telemetry telemetry = telemetry()) {
      Timer.builder("inference.queue.wait").tags("task", "txt2img", "model", "m")
          .publishPercentileHistogram() // the catalogue wins over a call site's default buckets
          .register(telemetry.meterRegistry()).record(Duration.ofMillis(30));
      Timer.builder("inference.sampling.step").tags("task", "vqa", "model", "m", "batch_size", "1")
          .register(telemetry.meterRegistry()).record(Duration.ofMillis(3));
      Timer.builder("inference.s3.put").register(telemetry.meterRegistry())
          .record(Duration.ofSeconds(2));
      DistributionSummary.builder("inference.batch.size").tags("model", "m", "call", "unet")
          .register(telemetry.meterRegistry()).record(3);
      String scrape = telemetry.scrape(null).body();

      assertThat(bucketBounds(scrape, "inference_queue_wait_seconds")).containsExactly("0.01",
          "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0", "30.0", "60.0", "300.0",
          "600.0", "1800.0", "+Inf");
      assertThat(bucketBounds(scrape, "inference_sampling_step_seconds")).hasSize(14)
          .startsWith("0.001").endsWith("10.0", "+Inf");
      assertThat(bucketBounds(scrape, "inference_s3_put_seconds")).hasSize(15)
          .startsWith("0.001").endsWith("60.0", "+Inf");
      assertThat(bucketBounds(scrape, "inference_batch_size_rows")).hasSize(12)
          .startsWith("1.0", "2.0", "3.0").endsWith("64.0", "+Inf");
      // 30 ms lands in the 50 ms bucket, not below.
      assertThat(scrape).contains("inference_queue_wait_seconds_bucket{model=\"m\","
              + "service=\"gpu-consumer\",task=\"txt2img\",le=\"0.01\"} 0")
          .contains("inference_queue_wait_seconds_bucket{model=\"m\","
              + "service=\"gpu-consumer\",task=\"txt2img\",le=\"0.05\"} 1");
      assertThat(scrape).contains("# HELP inference_queue_wait_seconds Time a job waited in the"
          + " requests topic");
    }
  }

  @Test
  void everyHelpLineSaysSomethingKafkaAndJvmMetersIncluded() {
    try (Telemetry telemetry = telemetry();
        KafkaClients clients = new KafkaClients(KafkaSettings.plaintext("127.0.0.1:1"), "help-test",
            telemetry.openTelemetry(), telemetry.meterRegistry())) {
      Consumer<String, byte[]> consumer = clients.consumer("requests", Map.of());
      telemetry.meterRegistry().counter("inference.dlq.records", "code", "INVALID_JSON").increment();
      telemetry.meterRegistry().gauge("inference.partitions.paused", 0);
      String scrape = telemetry.scrape(null).body();
      Matcher help = HELP.matcher(scrape);
      int families = 0;
      while (help.find()) {
        families++;
        assertThat(help.group(2)).as("HELP of %s", help.group(1)).isNotBlank();
      }
      assertThat(families).isGreaterThan(50);
      assertThat(scrape).contains("kafka_consumer_fetch_manager_")
          .contains("# HELP inference_dlq_records_total Records sent to the dead-letter topic");
      consumer.close(Duration.ZERO);
    }
  }

  @Test
  void everyCatalogueEntryIsDescribedAndEveryHistogramHasADozenOrSoBuckets() {
    assertThat(MetricCatalog.entries()).isNotEmpty().allSatisfy(entry -> {
      assertThat(entry.description()).isNotBlank();
      assertThat(entry.labels()).doesNotContain("job_id", "tenant", "trace_id");
      if (entry.type() == io.micrometer.core.instrument.Meter.Type.TIMER
          || entry.type() == io.micrometer.core.instrument.Meter.Type.DISTRIBUTION_SUMMARY) {
        assertThat(entry.buckets().length).as(entry.name()).isBetween(8, 16);
        for (int i = 1; i < entry.buckets().length; i++) {
          assertThat(entry.buckets()[i]).as(entry.name()).isGreaterThan(entry.buckets()[i - 1]);
        }
      }
    });
  }

  @Test
  void openMetricsIsServedWhenAskedForAndCarriesTheTraceOfASampledSpan() throws Exception {
    try (Telemetry telemetry = telemetry();
        ManagementServer server = ManagementServer.start(0, telemetry, () -> true, () -> true)) {
      Timer duration = Timer.builder("inference.request.duration")
          .tags("task", "txt2img", "model", "m", "status", "completed")
          .register(telemetry.meterRegistry());
      Span span = telemetry.tracer("test").spanBuilder("process").startSpan();
      try (Scope ignored = span.makeCurrent()) {
        duration.record(Duration.ofMillis(700));
      } finally {
        span.end();
      }
      duration.record(Duration.ofMillis(700)); // no span current: no exemplar from this one
      HttpClient http = HttpClient.newHttpClient();
      URI metrics = URI.create("http://localhost:" + server.port() + "/metrics");
      // What Prometheus 2.x sends.
      HttpResponse<String> open = http.send(HttpRequest.newBuilder(metrics).header("Accept",
              "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
                  + "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1").build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(open.headers().firstValue("Content-Type")).hasValueSatisfying(
          type -> assertThat(type).startsWith("application/openmetrics-text"));
      String traceId = span.getSpanContext().getTraceId();
      assertThat(open.body())
          .containsPattern("inference_request_duration_seconds_bucket\\{[^}]*le=\"1\\.0\"[^}]*\\} 2"
              + " # \\{span_id=\"" + span.getSpanContext().getSpanId() + "\",trace_id=\""
              + traceId + "\"\\} 0\\.7")
          .endsWith("# EOF\n")
          // Prometheus < 2.43 drops a scrape with an exemplar on a _count line.
          .doesNotContainPattern("_count\\{[^}]*\\} \\d+ # ");
      assertThat(open.body()).containsPattern("inference_worker_ready\\{service=\"gpu-consumer\"\\} 1");

      HttpResponse<String> text = http.send(HttpRequest.newBuilder(metrics).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(text.headers().firstValue("Content-Type"))
          .hasValue("text/plain; version=0.0.4; charset=utf-8");
      assertThat(text.body()).contains("inference_request_duration_seconds_bucket")
          .doesNotContain(traceId).doesNotContain("# EOF");
    }
  }
}
