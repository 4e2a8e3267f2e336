package dev.inferpipe.core.telemetry;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.encoder.EncoderBase;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;

/**
 * Human-readable lines for a terminal: the same fields as JSON, as {@code key=value} pairs. Keys,
 * values and the message are escaped ({@code \n}, {@code \r}, {@code \t}, or a backslash, u and
 * four hex digits), so a client-supplied string cannot end the line and start a forged one. Only
 * the stack trace, which follows the line, spans several lines.
 */
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
        .append(escape(fields.get("service"))).append("] ")
        .append(escape(fields.get("message")));
    fields.forEach((key, value) -> {
      if (!LEADING.contains(key)) {
        line.append(' ').append(escape(key)).append('=').append(escape(value));
      }
    });
    line.append('\n');
    if (fields.containsKey("stack")) {
      // Every stack line indented: an exception message with a newline cannot start a line
      // that reads like a log entry of its own.
      String stack = String.valueOf(fields.get("stack")).stripTrailing();
      line.append("    ").append(stack.replace("\r", "").replace("\n", "\n    ")).append('\n');
    }
    return line.toString().getBytes(StandardCharsets.UTF_8);
  }

  /**
   * Control characters (C0, DEL, C1 including NEL) and the Unicode line and paragraph separators
   * become escapes: each of them can end a line in some terminal or log viewer.
   */
  static String escape(Object value) {
    String text = String.valueOf(value);
    StringBuilder out = null;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      boolean unsafe = Character.isISOControl(c) || c == '\u2028' || c == '\u2029';
      if (unsafe && out == null) {
        out = new StringBuilder(text.length() + 16).append(text, 0, i);
      }
      if (out == null) {
        continue;
      }
      switch (c) {
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (unsafe) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    return out == null ? text : out.toString();
  }

  @Override
  public byte[] footerBytes() {
    return null;
  }
}
