package dev.inferpipe.core.telemetry;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.encoder.EncoderBase;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;

/** Human-readable lines for a terminal: the same fields as JSON, as {@code key=value} pairs. */
public final class TextLogEncoder extends EncoderBase<ILoggingEvent> {
  private static final Set<String> LEADING =
      Set.of("timestamp", "level", "service", "message", "logger", "thread", "instance_id", "stack");
  private String service = "inferpipe";

  public void setService(String service) {
    this.service = service;
  }

  @Override
  public byte[] headerBytes() {
    return null;
  }

  @Override
  public byte[] encode(ILoggingEvent event) {
    Map<String, Object> fields = LogFields.of(event, service, "");
    StringBuilder line = new StringBuilder(160)
        .append(fields.get("timestamp")).append(' ')
        .append(String.format("%-5s", fields.get("level"))).append(" [")
        .append(fields.get("service")).append("] ")
        .append(fields.get("message"));
    fields.forEach((key, value) -> {
      if (!LEADING.contains(key)) {
        line.append(' ').append(key).append('=').append(value);
      }
    });
    line.append('\n');
    if (fields.containsKey("stack")) {
      line.append(fields.get("stack")).append('\n');
    }
    return line.toString().getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public byte[] footerBytes() {
    return null;
  }
}
