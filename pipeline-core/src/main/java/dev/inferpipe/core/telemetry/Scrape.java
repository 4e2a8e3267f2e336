package dev.inferpipe.core.telemetry;

/** One exposition of a registry: the body and the content type to serve it with. */
public record Scrape(String contentType, String body) {
  public static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";
  public static final String OPENMETRICS_TEXT =
      "application/openmetrics-text; version=1.0.0; charset=utf-8";
}
