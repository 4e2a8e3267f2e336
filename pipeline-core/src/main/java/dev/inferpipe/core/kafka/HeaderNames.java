package dev.inferpipe.core.kafka;

import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/** Record header names shared by every topic, and UTF-8 helpers to read and write them. */
public final class HeaderNames {
  /** W3C trace context; written and read by the OpenTelemetry propagators. */
  public static final String TRACEPARENT = "traceparent";
  public static final String TRACESTATE = "tracestate";
  public static final String CONTENT_TYPE = "content-type";
  public static final String SCHEMA_VERSION = "schema-version";
  /** Epoch millis when the API accepted the job: the start of the queue.wait span. */
  public static final String ENQUEUED_AT_MS = "enqueued-at-ms";
  /** SHA-256 of the job as submitted, carried so later status events keep it. */
  public static final String REQUEST_SHA256 = "request-sha256";
  /** The tenant of the API key that submitted the job (absent without API keys). */
  public static final String TENANT = "tenant";
  public static final String ERROR_CODE = "error-code";
  public static final String ERROR_MESSAGE = "error-message";
  public static final String DLQ_SOURCE_TOPIC = "dlq-source-topic";
  public static final String DLQ_SOURCE_PARTITION = "dlq-source-partition";
  public static final String DLQ_SOURCE_OFFSET = "dlq-source-offset";

  public static final String JSON = "application/json";
  public static final String SCHEMA_V1 = "1";

  private HeaderNames() {}

  public static void put(Headers headers, String name, String value) {
    headers.remove(name);
    headers.add(name, value.getBytes(StandardCharsets.UTF_8));
  }

  public static Optional<String> get(Headers headers, String name) {
    Header header = headers.lastHeader(name);
    return header == null || header.value() == null
        ? Optional.empty()
        : Optional.of(new String(header.value(), StandardCharsets.UTF_8));
  }
}
