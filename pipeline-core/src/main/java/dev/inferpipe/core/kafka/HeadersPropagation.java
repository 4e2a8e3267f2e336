package dev.inferpipe.core.kafka;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/** Extracts the W3C trace context a producer put into a record's headers. */
public final class HeadersPropagation {
  private static final TextMapGetter<Headers> GETTER = new TextMapGetter<>() {
    @Override
    public Iterable<String> keys(Headers headers) {
      List<String> keys = new ArrayList<>();
      for (Header header : headers) {
        keys.add(header.key());
      }
      return keys;
    }

    @Override
    public String get(Headers headers, String key) {
      if (headers == null) {
        return null;
      }
      Header header = headers.lastHeader(key);
      return header == null || header.value() == null
          ? null : new String(header.value(), StandardCharsets.UTF_8);
    }
  };

  private HeadersPropagation() {}

  /** The producer's context, or the root context when the record carries none (or garbage). */
  public static Context extract(OpenTelemetry openTelemetry, Headers headers) {
    return openTelemetry.getPropagators().getTextMapPropagator()
        .extract(Context.root(), headers, GETTER);
  }
}
