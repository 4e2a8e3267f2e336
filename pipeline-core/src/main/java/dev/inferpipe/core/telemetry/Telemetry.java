package dev.inferpipe.core.telemetry;

import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.opentelemetry.api.OpenTelemetry;
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
    this.meterRegistry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    meterRegistry.config().commonTags("service", serviceName);
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

  /** Prometheus text exposition of every meter. */
  public String scrape() {
    return meterRegistry.scrape();
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
