package dev.inferpipe.core.kafka;

import dev.inferpipe.core.config.Topics;
import dev.inferpipe.core.job.ErrorCode;
import dev.inferpipe.core.job.JobCodec;
import dev.inferpipe.core.job.JobStatus;
import dev.inferpipe.core.job.Sha256;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.InvalidTopicException;
import org.apache.kafka.common.errors.RecordBatchTooLargeException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * The records a worker service writes while handling a consumed record: statuses, outputs and
 * dead letters. Every send waits for the broker's acknowledgement, because the caller commits the
 * consumed offset right after. A refusal that would repeat (too large, not authorised, invalid
 * topic, serialisation) is a {@link SendRejectedException}; anything else is transient, a
 * {@link SendFailedException}.
 */
public final class AckedSender {
  /** Told of every status the broker acknowledged, with where it landed. */
  public interface Published {
    void accept(JobStatus status, RecordMetadata where);
  }

  private static final int DLQ_HEADER_BUDGET = 64 * 1024;
  /** Headers a DLQ copy sets itself; the source's own values of these are not copied. */
  private static final java.util.Set<String> ERROR_HEADERS = java.util.Set.of(
      HeaderNames.ERROR_CODE, HeaderNames.ERROR_MESSAGE, HeaderNames.DLQ_SOURCE_TOPIC,
      HeaderNames.DLQ_SOURCE_PARTITION, HeaderNames.DLQ_SOURCE_OFFSET,
      HeaderNames.DLQ_VALUE_TRUNCATED, HeaderNames.DLQ_ORIGINAL_VALUE_BYTES,
      HeaderNames.DLQ_ORIGINAL_VALUE_SHA256, HeaderNames.DLQ_HEADERS_DROPPED);

  private final Producer<String, byte[]> producer;
  private final Topics topics;
  private final JobCodec codec;
  private final Published published;

  /**
   * @param published told of every status once the broker acknowledged it (a {@link StatusTable}
   *     reads its own writes this way, before the event comes back from the topic)
   */
  public AckedSender(Producer<String, byte[]> producer, Topics topics, JobCodec codec,
      Published published) {
    this.producer = producer;
    this.topics = topics;
    this.codec = codec;
    this.published = published;
  }

  public RecordMetadata send(ProducerRecord<String, byte[]> record) {
    try {
      return producer.send(record).get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while producing to " + record.topic(), e);
    } catch (ExecutionException e) {
      throw classify(record.topic(), e.getCause());
    } catch (KafkaException e) {
      throw classify(record.topic(), e); // thrown by send() itself, e.g. serialisation
    }
  }

  private static RuntimeException classify(String topic, Throwable cause) {
    String message = "cannot produce to " + topic + ": " + cause.getMessage();
    if (isPermanent(cause)) {
      return new SendRejectedException(message, cause);
    }
    return new SendFailedException(message, cause);
  }

  static boolean isPermanent(Throwable cause) {
    return cause instanceof RecordTooLargeException
        || cause instanceof RecordBatchTooLargeException
        || cause instanceof AuthorizationException
        || cause instanceof InvalidTopicException
        || cause instanceof SerializationException;
  }

  /**
   * Publishes a status snapshot without waiting: the future completes once the broker
   * acknowledged it (and {@link Published} was told), or with a {@link SendRejectedException} or
   * {@link SendFailedException}. A record keyed by the same job id sent later by this producer
   * lands after it (idempotent producer, one partition per key).
   */
  public java.util.concurrent.CompletableFuture<RecordMetadata> publishStatusAsync(
      JobStatus status) {
    RecordHeaders headers = new RecordHeaders();
    HeaderNames.put(headers, HeaderNames.CONTENT_TYPE, HeaderNames.JSON);
    HeaderNames.put(headers, HeaderNames.SCHEMA_VERSION, HeaderNames.SCHEMA_V1);
    var acked = new java.util.concurrent.CompletableFuture<RecordMetadata>();
    try {
      producer.send(new ProducerRecord<>(topics.status(), null, status.jobId(),
          codec.encode(status), headers), (where, failure) -> {
            if (failure != null) {
              acked.completeExceptionally(classify(topics.status(), failure));
            } else {
              published.accept(status, where);
              acked.complete(where);
            }
          });
    } catch (KafkaException e) {
      acked.completeExceptionally(classify(topics.status(), e));
    }
    return acked;
  }

  /** Publishes a status snapshot; returns where it landed, for {@link StatusTable#awaitApplied}. */
  public RecordMetadata publishStatus(JobStatus status) {
    RecordHeaders headers = new RecordHeaders();
    HeaderNames.put(headers, HeaderNames.CONTENT_TYPE, HeaderNames.JSON);
    HeaderNames.put(headers, HeaderNames.SCHEMA_VERSION, HeaderNames.SCHEMA_V1);
    RecordMetadata where = send(
        new ProducerRecord<>(topics.status(), null, status.jobId(), codec.encode(status), headers));
    published.accept(status, where);
    return where;
  }

  /**
   * Copies {@code source}'s key, value and headers to the DLQ, adding why and where it came from.
   * Its trace context is not copied: the DLQ send gets its own, in the current trace. When the
   * copy cannot fit under {@link RecordLimits#MAX_RECORD_BYTES} (or the broker refuses it as too
   * large), a bounded copy goes instead: the value's first 64 KiB with its size and SHA-256, and
   * no original headers if they are what does not fit. A DLQ record is never retried forever.
   */
  public void deadLetter(ConsumerRecord<String, byte[]> source, ErrorCode code, String message) {
    RecordHeaders full = errorHeaders(source, code, message);
    boolean headersFit = copyOriginalHeaders(source, full);
    int size = bytes(source.key()) + length(source.value()) + headerBytes(full);
    if (headersFit && size <= RecordLimits.MAX_RECORD_BYTES - 1024) {
      try {
        send(new ProducerRecord<>(topics.dlq(), null, source.key(), source.value(), full));
        return;
      } catch (SendRejectedException e) {
        if (!(e.getCause() instanceof RecordTooLargeException)) {
          throw e;
        }
        // The topic's limit is lower than ours: fall through to the bounded copy.
      }
    }
    RecordHeaders bounded = errorHeaders(source, code, message);
    if (headersFit) {
      copyOriginalHeaders(source, bounded);
    } else {
      HeaderNames.put(bounded, HeaderNames.DLQ_HEADERS_DROPPED, "true");
    }
    byte[] value = source.value();
    if (value != null) {
      HeaderNames.put(bounded, HeaderNames.DLQ_VALUE_TRUNCATED, "true");
      HeaderNames.put(bounded, HeaderNames.DLQ_ORIGINAL_VALUE_BYTES, Integer.toString(value.length));
      HeaderNames.put(bounded, HeaderNames.DLQ_ORIGINAL_VALUE_SHA256, Sha256.hex(value));
      value = Arrays.copyOf(value, Math.min(value.length, RecordLimits.DLQ_VALUE_PREFIX_BYTES));
    }
    String key = source.key() != null && bytes(source.key()) <= 1024 ? source.key() : null;
    send(new ProducerRecord<>(topics.dlq(), null, key, value, bounded));
  }

  private static RecordHeaders errorHeaders(ConsumerRecord<String, byte[]> source, ErrorCode code,
      String message) {
    RecordHeaders headers = new RecordHeaders();
    HeaderNames.put(headers, HeaderNames.ERROR_CODE, code.name());
    HeaderNames.put(headers, HeaderNames.ERROR_MESSAGE, truncate(message));
    HeaderNames.put(headers, HeaderNames.DLQ_SOURCE_TOPIC, source.topic());
    HeaderNames.put(headers, HeaderNames.DLQ_SOURCE_PARTITION, Integer.toString(source.partition()));
    HeaderNames.put(headers, HeaderNames.DLQ_SOURCE_OFFSET, Long.toString(source.offset()));
    return headers;
  }

  /** Adds the source's headers (not its trace context, nor our error headers); false if too big. */
  private static boolean copyOriginalHeaders(ConsumerRecord<String, byte[]> source,
      RecordHeaders into) {
    if (headerBytes(source.headers()) > DLQ_HEADER_BUDGET) {
      return false;
    }
    for (Header h : source.headers()) {
      if (!h.key().equals(HeaderNames.TRACEPARENT) && !h.key().equals(HeaderNames.TRACESTATE)
          && !ERROR_HEADERS.contains(h.key())) {
        into.add(h);
      }
    }
    return true;
  }

  private static int headerBytes(Iterable<Header> headers) {
    int total = 0;
    for (Header h : headers) {
      total += bytes(h.key()) + length(h.value());
    }
    return total;
  }

  private static int bytes(String s) {
    return s == null ? 0 : s.getBytes(StandardCharsets.UTF_8).length;
  }

  private static int length(byte[] b) {
    return b == null ? 0 : b.length;
  }

  static String truncate(String message) {
    String text = message == null ? "" : message;
    return text.length() <= 1000 ? text : text.substring(0, 1000) + "...";
  }
}
