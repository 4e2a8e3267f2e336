package dev.inferpipe.core.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.context.Scope;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class LoggingTest {
  private final Logger logger = ((LoggerContext) LoggerFactory.getILoggerFactory()).getLogger("t");

  private LoggingEvent event(String message) {
    LoggingEvent event = new LoggingEvent("fqcn", logger, Level.INFO, message, null, null);
    event.addKeyValuePair(new org.slf4j.event.KeyValuePair("job_id", "j-1"));
    event.addKeyValuePair(new org.slf4j.event.KeyValuePair("steps", 25));
    return event;
  }

  @Test
  void jsonLineCarriesTraceAndSpanIdOfTheCurrentSpan() {
    JsonLogEncoder encoder = new JsonLogEncoder();
    encoder.setService("producer-api");
    encoder.setInstanceId("pod-1");
    try (SdkTracerProvider provider = SdkTracerProvider.builder().build()) {
      Span span = provider.get("test").spanBuilder("work").startSpan();
      String line;
      try (Scope ignored = span.makeCurrent()) {
        line = new String(encoder.encode(event("job accepted")), StandardCharsets.UTF_8);
      } finally {
        span.end();
      }
      assertThat(line).endsWith("\n").doesNotContain("\n\n");
      JsonNode json = JsonMapper.builder().build().readTree(line);
      assertThat(json.get("trace_id").asString()).isEqualTo(span.getSpanContext().getTraceId());
      assertThat(json.get("span_id").asString()).isEqualTo(span.getSpanContext().getSpanId());
      assertThat(json.get("service").asString()).isEqualTo("producer-api");
      assertThat(json.get("instance_id").asString()).isEqualTo("pod-1");
      assertThat(json.get("message").asString()).isEqualTo("job accepted");
      assertThat(json.get("job_id").asString()).isEqualTo("j-1");
      assertThat(json.get("steps").asInt()).isEqualTo(25);
      assertThat(json.get("level").asString()).isEqualTo("INFO");
    }
  }

  @Test
  void noSpanMeansNoTraceFieldsAndMdcServiceWins() {
    JsonLogEncoder encoder = new JsonLogEncoder();
    encoder.setService("local");
    MDC.put("service", "storage-sink");
    try {
      String line = new String(encoder.encode(event("idle")), StandardCharsets.UTF_8);
      JsonNode json = JsonMapper.builder().build().readTree(line);
      assertThat(json.has("trace_id")).isFalse();
      assertThat(json.get("service").asString()).isEqualTo("storage-sink");
    } finally {
      MDC.clear();
    }
  }

  @Test
  void textFormatIsOneReadableLine() {
    TextLogEncoder encoder = new TextLogEncoder();
    encoder.setService("gpu-consumer");
    String line = new String(encoder.encode(event("sampling")), StandardCharsets.UTF_8);
    assertThat(line).contains("INFO ", "[gpu-consumer] sampling", "job_id=j-1", "steps=25")
        .endsWith("\n");
  }

  @Test
  void aNewlineInAKeyValueOrMessageCannotForgeASecondTextLine() {
    TextLogEncoder encoder = new TextLogEncoder();
    LoggingEvent event = event("sampling\r\n2026-01-01T00:00:00Z ERROR [gpu-consumer] forged");
    event.addKeyValuePair(new org.slf4j.event.KeyValuePair("prompt\nFAKE level=ERROR", "x"));
    event.addKeyValuePair(new org.slf4j.event.KeyValuePair("note", "a\u2028b\u0085c\u0000d\te"));
    String line = new String(encoder.encode(event), StandardCharsets.UTF_8);
    assertThat(line.lines()).hasSize(1);
    assertThat(line).endsWith("\n").doesNotContain("\r", "\u2028", "\u0085", "\u0000", "\t")
        .contains("sampling\\r\\n2026-01-01T00:00:00Z ERROR", "prompt\\nFAKE level=ERROR=x",
            "note=a\\u2028b\\u0085c\\u0000d\\te");
  }

  @Test
  void anExceptionMessageWithANewlineStaysIndentedUnderItsLine() {
    LoggingEvent event = new LoggingEvent("fqcn", logger, Level.WARN, "failed", null, null);
    event.setThrowableProxy(new ch.qos.logback.classic.spi.ThrowableProxy(
        new IllegalStateException("bad\n2026-01-01T00:00:00Z ERROR [producer-api] forged")));
    String text = new String(new TextLogEncoder().encode(event), StandardCharsets.UTF_8);
    // The log line, then only indented stack lines: none starts like an entry of its own.
    assertThat(text.lines().skip(1)).isNotEmpty().allSatisfy(l -> assertThat(l).startsWith("    "));
  }

  @Test
  void aNewlineInAKeyStaysInsideTheJsonLine() {
    LoggingEvent event = event("m\nFAKE");
    event.addKeyValuePair(new org.slf4j.event.KeyValuePair("k\nFAKE level=ERROR", "v\r\n"));
    String line = new String(new JsonLogEncoder().encode(event), StandardCharsets.UTF_8);
    assertThat(line.substring(0, line.length() - 1)).doesNotContain("\n", "\r");
    JsonNode json = JsonMapper.builder().build().readTree(line);
    assertThat(json.get("k\nFAKE level=ERROR").asString()).isEqualTo("v\r\n");
    assertThat(json.get("message").asString()).isEqualTo("m\nFAKE");
  }
}
