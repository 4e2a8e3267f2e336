package dev.inferpipe.core.telemetry;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.sdk.trace.data.SpanData;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;

/** A finished span as plain data, for the JSON of {@code GET /v1/jobs/{id}/trace}. */
public record SpanView(
    String name,
    String service,
    String kind,
    String traceId,
    String spanId,
    String parentSpanId,
    Instant start,
    double durationMs,
    String status,
    Map<String, String> attributes) {

  public static SpanView of(SpanData span) {
    Map<String, String> attributes = new TreeMap<>();
    span.getAttributes().forEach((key, value) -> attributes.put(key.getKey(), String.valueOf(value)));
    String service = span.getResource().getAttribute(AttributeKey.stringKey("service.name"));
    return new SpanView(span.getName(), service, span.getKind().name(), span.getTraceId(),
        span.getSpanId(), span.getParentSpanContext().isValid() ? span.getParentSpanId() : null,
        Instant.ofEpochSecond(0, span.getStartEpochNanos()),
        (span.getEndEpochNanos() - span.getStartEpochNanos()) / 1e6,
        span.getStatus().getStatusCode().name(), attributes);
  }
}
