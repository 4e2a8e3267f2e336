package dev.inferpipe.core.telemetry;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;

/**
 * Tells the Prometheus client which trace is current, so a histogram sample recorded inside a
 * sampled job's span carries that trace_id as an exemplar (exposed in the OpenMetrics format).
 * Reads the context, not a particular SDK, so the three services of one JVM share it.
 */
final class ExemplarSpans implements io.prometheus.metrics.tracer.common.SpanContext {
  private static final AttributeKey<String> EXEMPLAR = AttributeKey.stringKey(EXEMPLAR_ATTRIBUTE_NAME);

  @Override
  public String getCurrentTraceId() {
    SpanContext context = Span.current().getSpanContext();
    return context.isValid() ? context.getTraceId() : null;
  }

  @Override
  public String getCurrentSpanId() {
    SpanContext context = Span.current().getSpanContext();
    return context.isValid() ? context.getSpanId() : null;
  }

  @Override
  public boolean isCurrentSpanSampled() {
    SpanContext context = Span.current().getSpanContext();
    return context.isValid() && context.isSampled();
  }

  /** Marks the span, so a tail-sampling collector can keep traces an exemplar points to. */
  @Override
  public void markCurrentSpanAsExemplar() {
    Span.current().setAttribute(EXEMPLAR, EXEMPLAR_ATTRIBUTE_VALUE);
  }
}
