package dev.inferpipe.core.telemetry;

import dev.inferpipe.core.config.Env;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdk;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SpanProcessor;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

/**
 * Builds {@link Telemetry}. Export follows the OpenTelemetry environment specification, with two
 * defaults chosen for this project: traces go over OTLP only when an OTLP endpoint (or
 * {@code OTEL_TRACES_EXPORTER}) is configured, so a laptop without a collector is not flooded with
 * export errors; metrics and logs are not pushed (Prometheus scrapes {@code /metrics}) unless
 * {@code OTEL_METRICS_EXPORTER} / {@code OTEL_LOGS_EXPORTER} say otherwise.
 */
public final class TelemetryBuilder {
  // Still incubating in semconv; spelled out rather than pulling in the incubating artifact.
  private static final AttributeKey<String> SERVICE_INSTANCE_ID =
      AttributeKey.stringKey("service.instance.id");

  private final String serviceName;
  private Env env = Env.system();
  private final List<SpanProcessor> extraProcessors = new ArrayList<>();

  TelemetryBuilder(String serviceName) {
    this.serviceName = serviceName;
  }

  /** Where {@code OTEL_*} variables are read from; defaults to the process environment. */
  public TelemetryBuilder env(Env env) {
    this.env = env;
    return this;
  }

  /** Adds a processor next to the configured exporters (tests, the local span store). */
  public TelemetryBuilder addSpanProcessor(SpanProcessor processor) {
    extraProcessors.add(processor);
    return this;
  }

  public Telemetry build() {
    String instanceId = env.get("POD_NAME").orElseGet(TelemetryBuilder::hostInstanceId);
    Map<String, String> fromEnv = otelProperties(env);
    OpenTelemetrySdk sdk = AutoConfiguredOpenTelemetrySdk.builder()
        .addPropertiesSupplier(() -> Map.of(
            "otel.service.name", serviceName,
            // OTLP over HTTP: the JDK HttpClient sender speaks it; gRPC would need another sender.
            "otel.exporter.otlp.protocol", "http/protobuf",
            "otel.metrics.exporter", "none",
            "otel.logs.exporter", "none"))
        .addPropertiesCustomizer(config -> {
          Map<String, String> overrides = new HashMap<>(fromEnv);
          boolean endpointSet = config.getString("otel.exporter.otlp.endpoint") != null
              || config.getString("otel.exporter.otlp.traces.endpoint") != null
              || fromEnv.containsKey("otel.exporter.otlp.endpoint")
              || fromEnv.containsKey("otel.exporter.otlp.traces.endpoint");
          if (config.getString("otel.traces.exporter") == null
              && !fromEnv.containsKey("otel.traces.exporter") && !endpointSet) {
            overrides.put("otel.traces.exporter", "none");
          }
          return overrides;
        })
        .addResourceCustomizer((resource, config) -> resource.merge(Resource.create(Attributes.of(
            SERVICE_INSTANCE_ID, instanceId))))
        .addTracerProviderCustomizer((tracerProvider, config) -> {
          extraProcessors.forEach(tracerProvider::addSpanProcessor);
          return tracerProvider;
        })
        .disableShutdownHook()
        .build()
        .getOpenTelemetrySdk();
    return new Telemetry(serviceName, instanceId, sdk);
  }

  /** {@code OTEL_EXPORTER_OTLP_ENDPOINT} becomes {@code otel.exporter.otlp.endpoint}. */
  static Map<String, String> otelProperties(Env env) {
    Map<String, String> props = new HashMap<>();
    env.asMap().forEach((name, value) -> {
      if (name.startsWith("OTEL_") && value != null && !value.isBlank()) {
        props.put(name.toLowerCase(Locale.ROOT).replace('_', '.'), value);
      }
    });
    return props;
  }

  private static String hostInstanceId() {
    String host;
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (java.io.IOException e) {
      host = "unknown-host";
    }
    return host + "-" + UUID.randomUUID().toString().substring(0, 8);
  }
}
