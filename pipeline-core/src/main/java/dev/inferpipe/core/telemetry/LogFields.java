package dev.inferpipe.core.telemetry;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.event.KeyValuePair;

/**
 * The fields of one log line, in a fixed order: timestamp, level, service, instance_id, message,
 * trace_id and span_id of the span current on the logging thread, then MDC entries and the
 * event's SLF4J key-value pairs ({@code job_id}, {@code event}, {@code prompt_hash}, ...).
 */
final class LogFields {
  static final String SERVICE_KEY = "service";

  private LogFields() {}

  static Map<String, Object> of(ILoggingEvent event, String defaultService, String instanceId) {
    Map<String, Object> fields = new LinkedHashMap<>();
    fields.put("timestamp", Instant.ofEpochMilli(event.getTimeStamp()).toString());
    fields.put("level", event.getLevel().toString());
    Map<String, String> mdc = event.getMDCPropertyMap();
    fields.put(SERVICE_KEY, mdc.getOrDefault(SERVICE_KEY, defaultService));
    fields.put("instance_id", instanceId);
    fields.put("logger", event.getLoggerName());
    fields.put("thread", event.getThreadName());
    fields.put("message", event.getFormattedMessage());
    // Encoders run synchronously on the logging thread, so the current span is the caller's.
    SpanContext span = Span.current().getSpanContext();
    if (span.isValid()) {
      fields.put("trace_id", span.getTraceId());
      fields.put("span_id", span.getSpanId());
    }
    mdc.forEach((key, value) -> {
      if (!SERVICE_KEY.equals(key)) {
        fields.put(key, value);
      }
    });
    if (event.getKeyValuePairs() != null) {
      for (KeyValuePair pair : event.getKeyValuePairs()) {
        fields.put(pair.key, pair.value);
      }
    }
    if (event.getThrowableProxy() != null) {
      fields.put("error", event.getThrowableProxy().getClassName() + ": "
          + event.getThrowableProxy().getMessage());
      fields.put("stack", ThrowableProxyUtil.asString(event.getThrowableProxy()));
    }
    return fields;
  }
}
