package dev.inferpipe.core.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inferpipe.core.config.Env;
import dev.inferpipe.core.http.ManagementServer;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class TelemetryTest {
  @Test
  void spansCarryServiceNameAndInstanceId() {
    InMemorySpanExporter exporter = InMemorySpanExporter.create();
    try (Telemetry telemetry = Telemetry.builder("producer-api")
        .env(Env.of(Map.of("POD_NAME", "api-7f9c")))
        .addSpanProcessor(SimpleSpanProcessor.create(exporter))
        .build()) {
      telemetry.tracer("test").spanBuilder("op").startSpan().end();
      SpanData span = exporter.getFinishedSpanItems().get(0);
      assertThat(span.getResource().getAttributes().asMap())
          .anySatisfy((k, v) -> {
            assertThat(k.getKey()).isEqualTo("service.name");
            assertThat(v).isEqualTo("producer-api");
          })
          .anySatisfy((k, v) -> {
            assertThat(k.getKey()).isEqualTo("service.instance.id");
            assertThat(v).isEqualTo("api-7f9c");
          });
      assertThat(telemetry.instanceId()).isEqualTo("api-7f9c");
    }
  }

  @Test
  void otelVariablesFromTheGivenEnvAreApplied() {
    InMemorySpanExporter exporter = InMemorySpanExporter.create();
    try (Telemetry telemetry = Telemetry.builder("x")
        .env(Env.of(Map.of("OTEL_TRACES_SAMPLER", "always_off",
            "OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=test")))
        .addSpanProcessor(SimpleSpanProcessor.create(exporter))
        .build()) {
      telemetry.tracer("test").spanBuilder("op").startSpan().end();
      assertThat(exporter.getFinishedSpanItems()).isEmpty();
    }
    assertThat(TelemetryBuilder.otelProperties(Env.of(Map.of(
        "OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318", "HOME", "/root"))))
        .containsExactly(Map.entry("otel.exporter.otlp.endpoint", "http://collector:4318"));
  }

  @Test
  void managementPortServesMetricsHealthAndReadiness() throws Exception {
    AtomicBoolean ready = new AtomicBoolean(false);
    AtomicBoolean alive = new AtomicBoolean(true);
    try (Telemetry telemetry = Telemetry.builder("gpu-consumer").env(Env.of(Map.of())).build();
        ManagementServer server = ManagementServer.start(0, telemetry, ready::get, alive::get)) {
      telemetry.meterRegistry().counter("inference_jobs", "status", "SUCCEEDED").increment();
      HttpClient http = HttpClient.newHttpClient();
      String base = "http://localhost:" + server.port();
      HttpResponse<String> metrics = http.send(
          HttpRequest.newBuilder(URI.create(base + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(metrics.statusCode()).isEqualTo(200);
      assertThat(metrics.body())
          .contains("inference_jobs_total{service=\"gpu-consumer\",status=\"SUCCEEDED\"} 1.0")
          .contains("jvm_memory_used_bytes");
      assertThat(http.send(HttpRequest.newBuilder(URI.create(base + "/readyz")).build(),
          HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(503);
      ready.set(true);
      assertThat(http.send(HttpRequest.newBuilder(URI.create(base + "/readyz")).build(),
          HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
      assertThat(http.send(HttpRequest.newBuilder(URI.create(base + "/healthz")).build(),
          HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
      // The poll loop died: liveness fails, so Kubernetes restarts the pod.
      alive.set(false);
      assertThat(http.send(HttpRequest.newBuilder(URI.create(base + "/healthz")).build(),
          HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(503);
    }
  }

  @Test
  void anOtlpEndpointInTheGivenEnvTurnsOnOtlpHttpExport() throws Exception {
    java.util.concurrent.CopyOnWriteArrayList<String> paths = new java.util.concurrent.CopyOnWriteArrayList<>();
    com.sun.net.httpserver.HttpServer collector =
        com.sun.net.httpserver.HttpServer.create(new java.net.InetSocketAddress("127.0.0.1", 0), 0);
    collector.createContext("/", exchange -> {
      paths.add(exchange.getRequestMethod() + " " + exchange.getRequestURI().getPath() + " "
          + exchange.getRequestHeaders().getFirst("Content-Type"));
      exchange.getRequestBody().readAllBytes();
      exchange.sendResponseHeaders(200, -1);
      exchange.close();
    });
    collector.start();
    try (Telemetry telemetry = Telemetry.builder("x").env(Env.of(Map.of(
        "OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:" + collector.getAddress().getPort())))
        .build()) {
      telemetry.tracer("test").spanBuilder("op").startSpan().end();
    } finally {
      collector.stop(0);
    }
    assertThat(paths).contains("POST /v1/traces application/x-protobuf");
  }
}
