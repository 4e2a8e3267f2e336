package dev.inferpipe.core.kafka;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
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
  /**
   * The tenant of the API key that submitted the job (absent without API keys). Believed only on
   * a record whose {@link #SIGNATURE} verifies.
   */
  public static final String TENANT = "tenant";
  /**
   * The id of the API key that submitted the job, whose webhook secret signs its notification.
   * Believed only on a record whose {@link #SIGNATURE} verifies (it is signed with the rest).
   */
  public static final String API_KEY_ID = "api-key-id";
  /**
   * {@code v1=<hex>}: producer-api's HMAC over job id, request hash, tenant, value digest and (when
   * present) the API key id.
   */
  public static final String SIGNATURE = "inferpipe-signature";
  public static final String ERROR_CODE = "error-code";
  public static final String ERROR_MESSAGE = "error-message";
  public static final String DLQ_SOURCE_TOPIC = "dlq-source-topic";
  public static final String DLQ_SOURCE_PARTITION = "dlq-source-partition";
  public static final String DLQ_SOURCE_OFFSET = "dlq-source-offset";
  /** On a DLQ copy that could not hold the original whole: its value is a prefix. */
  public static final String DLQ_VALUE_TRUNCATED = "dlq-value-truncated";
  public static final String DLQ_ORIGINAL_VALUE_BYTES = "dlq-original-value-bytes";
  public static final String DLQ_ORIGINAL_VALUE_SHA256 = "dlq-original-value-sha256";
  /** On a DLQ copy whose original headers were dropped because they did not fit. */
  public static final String DLQ_HEADERS_DROPPED = "dlq-headers-dropped";

  public static final String JSON = "application/json";
  public static final String SCHEMA_V1 = "1";

  private HeaderNames() {}

  public static void put(Headers headers, String name, String value) {
    headers.remove(name);
    headers.add(name, value.getBytes(StandardCharsets.UTF_8));
  }

  /** What a strict read of one interpreted header found. */
  public sealed interface Value permits Absent, Present, Malformed {}

  public record Absent() implements Value {}

  public record Present(String text) implements Value {}

  /** Repeated, over {@link RecordLimits#MAX_HEADER_VALUE_BYTES}, null, or not UTF-8. */
  public record Malformed(String reason) implements Value {}

  /**
   * Reads a header the pipeline acts on, strictly: exactly one occurrence, at most
   * {@link RecordLimits#MAX_HEADER_VALUE_BYTES} bytes of valid UTF-8. Anything else is
   * {@link Malformed}, never an exception: the caller decides whether to ignore it or refuse
   * the record.
   */
  public static Value strict(Headers headers, String name) {
    int count = 0;
    Header found = null;
    for (Header header : headers.headers(name)) {
      count++;
      found = header;
    }
    if (count == 0) {
      return new Absent();
    }
    if (count > 1) {
      return new Malformed("header '" + name + "' appears " + count + " times");
    }
    byte[] bytes = found.value();
    if (bytes == null) {
      return new Malformed("header '" + name + "' has no value");
    }
    if (bytes.length > RecordLimits.MAX_HEADER_VALUE_BYTES) {
      return new Malformed("header '" + name + "' is " + bytes.length + " bytes; the limit is "
          + RecordLimits.MAX_HEADER_VALUE_BYTES);
    }
    try {
      return new Present(StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes)).toString());
    } catch (CharacterCodingException e) {
      return new Malformed("header '" + name + "' is not UTF-8");
    }
  }

  /** The last value of a header the pipeline wrote itself (lenient: for its own records). */
  public static Optional<String> get(Headers headers, String name) {
    Header header = headers.lastHeader(name);
    return header == null || header.value() == null
        ? Optional.empty()
        : Optional.of(new String(header.value(), StandardCharsets.UTF_8));
  }
}
