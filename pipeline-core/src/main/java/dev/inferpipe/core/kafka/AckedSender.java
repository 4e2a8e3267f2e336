package dev.inferpipe.core.kafka;

import dev.inferpipe.core.config.Topics;
import dev.inferpipe.core.job.ErrorCode;
import dev.inferpipe.core.job.JobCodec;
import dev.inferpipe.core.job.JobStatus;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * The records a worker service writes while handling a consumed record: statuses, outputs and
 * dead letters. Every send waits for the broker's acknowledgement, because the caller commits the
 * consumed offset right after.
 */
public final class AckedSender {
  private final Producer<String, byte[]> producer;
  private final Topics topics;
  private final JobCodec codec;

  private final java.util.function.Consumer<JobStatus> published;

  /**
   * @param published told of every status once the broker acknowledged it (a {@link StatusTable}
   *     reads its own writes this way, before the event comes back from the topic)
   */
  public AckedSender(Producer<String, byte[]> producer, Topics topics, JobCodec codec,
      java.util.function.Consumer<JobStatus> published) {
    this.producer = producer;
    this.topics = topics;
    this.codec = codec;
    this.published = published;
  }

  public void send(ProducerRecord<String, byte[]> record) {
    try {
      producer.send(record).get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while producing to " + record.topic(), e);
    } catch (ExecutionException e) {
      throw new SendFailedException("cannot produce to " + record.topic() + ": "
          + e.getCause().getMessage(), e.getCause());
    }
  }

  public void publishStatus(JobStatus status) {
    RecordHeaders headers = new RecordHeaders();
    HeaderNames.put(headers, HeaderNames.CONTENT_TYPE, HeaderNames.JSON);
    HeaderNames.put(headers, HeaderNames.SCHEMA_VERSION, HeaderNames.SCHEMA_V1);
    send(new ProducerRecord<>(topics.status(), null, status.jobId(), codec.encode(status), headers));
    published.accept(status);
  }

  /**
   * Copies {@code source}'s key, value and headers to the DLQ, adding why and where it came from.
   * Its trace context is not copied: the DLQ send gets its own, in the current trace.
   */
  public void deadLetter(ConsumerRecord<String, byte[]> source, ErrorCode code, String message) {
    RecordHeaders headers = new RecordHeaders();
    source.headers().forEach(h -> {
      if (!h.key().equals(HeaderNames.TRACEPARENT) && !h.key().equals(HeaderNames.TRACESTATE)) {
        headers.add(h);
      }
    });
    HeaderNames.put(headers, HeaderNames.ERROR_CODE, code.name());
    HeaderNames.put(headers, HeaderNames.ERROR_MESSAGE, truncate(message));
    HeaderNames.put(headers, HeaderNames.DLQ_SOURCE_TOPIC, source.topic());
    HeaderNames.put(headers, HeaderNames.DLQ_SOURCE_PARTITION, Integer.toString(source.partition()));
    HeaderNames.put(headers, HeaderNames.DLQ_SOURCE_OFFSET, Long.toString(source.offset()));
    send(new ProducerRecord<>(topics.dlq(), null, source.key(), source.value(), headers));
  }

  static String truncate(String message) {
    String text = message == null ? "" : message;
    return text.length() <= 1000 ? text : text.substring(0, 1000) + "...";
  }
}
