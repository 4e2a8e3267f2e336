package dev.inferpipe.consumer.pipeline;

import java.util.Locale;

/**
 * How sampling / generation steps are traced: a child span per step (the default), one span event
 * per step on the parent span (cheaper for long loops), or nothing.
 */
public enum StepTelemetry {
  SPANS,
  EVENTS,
  OFF;

  public static StepTelemetry parse(String value) {
    return valueOf(value.trim().toUpperCase(Locale.ROOT));
  }
}
