package dev.inferpipe.core.telemetry;

import io.micrometer.core.instrument.Clock;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.opentelemetry.api.OpenTelemetry;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import java.util.concurrent.TimeUnit;

/**
 * One service's telemetry: an OpenTelemetry SDK configured from the standard {@code OTEL_*}
 * variables, and a Prometheus meter registry. Services never use the global OpenTelemetry, so the
 * local stack can run three services with three {@code service.name}s in one JVM.
 */
public final class Telemetry implements AutoCloseable {
  private final String serviceName;
  private final String instanceId;
  private final OpenTelemetrySdk sdk;
  private final PrometheusMeterRegistry meterRegistry;
  private final JvmGcMetrics gcMetrics;

  Telemetry(String serviceName, String instanceId, OpenTelemetrySdk sdk) {
    this.serviceName = serviceName;
    this.instanceId = instanceId;
    this.sdk = sdk;
    this.meterRegistry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT,
        new PrometheusRegistry(), Clock.SYSTEM, new ExemplarSpans());
    meterRegistry.config().commonTags("service", serviceName).meterFilter(MetricCatalog.filter());
    new ClassLoaderMetrics().bindTo(meterRegistry);
    new JvmMemoryMetrics().bindTo(meterRegistry);
    new JvmThreadMetrics().bindTo(meterRegistry);
    new ProcessorMetrics().bindTo(meterRegistry);
    new UptimeMetrics().bindTo(meterRegistry);
    this.gcMetrics = new JvmGcMetrics();
    gcMetrics.bindTo(meterRegistry);
  }

  public static TelemetryBuilder builder(String serviceName) {
    return new TelemetryBuilder(serviceName);
  }

  public String serviceName() {
    return serviceName;
  }

  /** {@code service.instance.id}: the pod name in Kubernetes, else host name plus a random suffix. */
  public String instanceId() {
    return instanceId;
  }

  public OpenTelemetry openTelemetry() {
    return sdk;
  }

  public Tracer tracer(String instrumentationScope) {
    return sdk.getTracer(instrumentationScope);
  }

  public PrometheusMeterRegistry meterRegistry() {
    return meterRegistry;
  }

  /**
   * Every meter in the format the {@code Accept} header asks for: OpenMetrics (which carries
   * exemplars) when it names {@code application/openmetrics-text}, as Prometheus does, else
   * the Prometheus text format.
   */
  public Scrape scrape(String accept) {
    String type = accept != null && accept.contains("application/openmetrics-text")
        ? Scrape.OPENMETRICS_TEXT : Scrape.PROMETHEUS_TEXT;
    String body = meterRegistry.scrape(type);
    return new Scrape(type, type.equals(Scrape.OPENMETRICS_TEXT) ? withoutCountExemplars(body) : body);
  }

  /**
   * Micrometer puts exemplars on histogram {@code _count} lines too; Prometheus before 2.43
   * (Debian 12 ships 2.42) then drops the whole scrape ("does not support exemplars"). The
   * bucket lines carry the same traces, so the {@code _count} ones are cut.
   */
  static String withoutCountExemplars(String openMetrics) {
    StringBuilder out = new StringBuilder(openMetrics.length());
    int start = 0;
    while (start < openMetrics.length()) {
      int end = openMetrics.indexOf('\n', start);
      end = end < 0 ? openMetrics.length() : end + 1;
      String line = openMetrics.substring(start, end);
      int exemplar = line.indexOf(" # {");
      int name = line.indexOf('{');
      int nameEnd = name < 0 || name > line.indexOf(' ') ? line.indexOf(' ') : name;
      if (exemplar > 0 && nameEnd > 0 && line.startsWith("_count", nameEnd - "_count".length())) {
        out.append(line, 0, exemplar).append('\n');
      } else {
        out.append(line);
      }
      start = end;
    }
    return out.toString();
  }

  /** Flushes pending spans, then stops exporters; safe to call twice. */
  @Override
  public void close() {
    sdk.getSdkTracerProvider().forceFlush().join(5, TimeUnit.SECONDS);
    sdk.shutdown().join(10, TimeUnit.SECONDS);
    gcMetrics.close();
    meterRegistry.close();
  }
}
