package dev.inferpipe.core.telemetry;

import java.util.Locale;

/** {@code json}: one object per line for log pipelines; {@code text}: for a terminal. */
public enum LogFormat {
  JSON,
  TEXT;

  public static LogFormat parse(String value) {
    try {
      return valueOf(value.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("LOG_FORMAT must be json or text, got '" + value + "'", e);
    }
  }
}
