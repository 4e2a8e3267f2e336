package dev.inferpipe.api;

import dev.inferpipe.core.config.Topics;
import dev.inferpipe.core.kafka.HeaderNames;
import dev.inferpipe.core.kafka.KafkaClients;
import dev.inferpipe.core.kafka.RecordLimits;
import dev.inferpipe.core.kafka.RecordSigner;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.RecordMetadata;
import java.time.Duration;
import java.util.Map;
import java.util.function.Supplier;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes an accepted job and its QUEUED status in one Kafka transaction: either both records
 * become visible to read_committed consumers or neither does, so a broker failure mid-submission
 * never leaves a job without a status or a status without a job. Calls are serialised because a
 * producer runs one transaction at a time.
 */
final class JobPublisher implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(JobPublisher.class);
  /** Longer than sending a transaction's records takes, so they wait for the commit's flush. */
  static final int LINGER_UNTIL_COMMIT_MS = 5;

  private final Supplier<Producer<String, byte[]>> factory;
  private final Topics topics;
  private final Duration timeout;
  private final RecordSigner signer;
  private Producer<String, byte[]> producer;

  /** @param signer signs every request record, so workers can tell it from a direct publication */
  JobPublisher(KafkaClients kafka, Topics topics, String transactionalId, Duration timeout,
      RecordSigner signer) {
    this.topics = topics;
    this.timeout = timeout;
    this.signer = signer;
    long timeoutMs = timeout.toMillis();
    this.factory = () -> kafka.producer("api", Map.of(
        ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId,
        ProducerConfig.MAX_BLOCK_MS_CONFIG, timeoutMs,
        ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) Math.max(1000, timeoutMs / 2),
        ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) Math.max(2000, timeoutMs),
        // Held back until the commit, which flushes at once: the request and its QUEUED status
        // then go in one produce request instead of two (2.0 requests a transaction with the
        // EndTxn, against 2.6 at linger 0). Nothing waits for the linger.
        ProducerConfig.LINGER_MS_CONFIG, LINGER_UNTIL_COMMIT_MS,
        ProducerConfig.MAX_REQUEST_SIZE_CONFIG, RecordLimits.MAX_RECORD_BYTES));
  }

  /**
   * @param enqueuedAtMs the acceptance time; the consumer's queue.wait span starts here
   * @param tenant the submitting key's tenant, carried to every later status; null without keys
   * @param keyId the submitting key's id (signed, so the consumer knows whose webhook secret
   *     applies even before it reads the QUEUED status); null without keys
   * @return where the QUEUED status landed, for {@link dev.inferpipe.core.kafka.StatusTable#awaitApplied}
   */
  synchronized RecordMetadata publish(String jobId, byte[] job, String requestSha256,
      long enqueuedAtMs, byte[] queuedStatus, String tenant, String keyId)
      throws PublishFailedException {
    return inTransaction("job", p -> {
      RecordHeaders requestHeaders = baseHeaders();
      HeaderNames.put(requestHeaders, HeaderNames.ENQUEUED_AT_MS, Long.toString(enqueuedAtMs));
      HeaderNames.put(requestHeaders, HeaderNames.REQUEST_SHA256, requestSha256);
      if (tenant != null) {
        HeaderNames.put(requestHeaders, HeaderNames.TENANT, tenant);
      }
      if (keyId != null) {
        HeaderNames.put(requestHeaders, HeaderNames.API_KEY_ID, keyId);
      }
      HeaderNames.put(requestHeaders, HeaderNames.SIGNATURE,
          signer.sign(jobId, requestSha256, tenant, keyId, job));
      p.send(new ProducerRecord<>(topics.requests(), null, jobId, job, requestHeaders));
      return p.send(new ProducerRecord<>(topics.status(), null, jobId, queuedStatus, baseHeaders()));
    });
  }

  /**
   * Publishes one status event (e.g. CANCELLED), with the same failure handling as a job.
   *
   * @return where it landed, for {@link dev.inferpipe.core.kafka.StatusTable#awaitApplied}
   */
  synchronized RecordMetadata publishStatus(String jobId, byte[] status)
      throws PublishFailedException {
    return inTransaction("status", p ->
        p.send(new ProducerRecord<>(topics.status(), null, jobId, status, baseHeaders())));
  }

  /** Sends inside one transaction and returns where the record {@code sends} names landed. */
  private RecordMetadata inTransaction(String what,
      java.util.function.Function<Producer<String, byte[]>, Future<RecordMetadata>> sends)
      throws PublishFailedException {
    try {
      Producer<String, byte[]> p = producer();
      p.beginTransaction();
      Future<RecordMetadata> landed = sends.apply(p);
      p.commitTransaction();
      return landed.get(); // complete: commit flushed it
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new PublishFailedException("interrupted while publishing a " + what, e);
    } catch (ExecutionException e) {
      throw new PublishFailedException("Kafka did not accept the " + what + ": " + e.getCause(), e);
    } catch (RuntimeException e) {
      discardTransaction(e);
      throw new PublishFailedException("Kafka did not accept the " + what + " within "
          + timeout.toMillis() + " ms: " + e.getMessage(), e);
    }
  }

  private static RecordHeaders baseHeaders() {
    RecordHeaders headers = new RecordHeaders();
    HeaderNames.put(headers, HeaderNames.CONTENT_TYPE, HeaderNames.JSON);
    HeaderNames.put(headers, HeaderNames.SCHEMA_VERSION, HeaderNames.SCHEMA_V1);
    return headers;
  }

  private Producer<String, byte[]> producer() {
    if (producer == null) {
      Producer<String, byte[]> created = factory.get();
      try {
        created.initTransactions();
      } catch (RuntimeException e) {
        created.close(Duration.ZERO);
        throw e;
      }
      producer = created;
    }
    return producer;
  }

  /**
   * Aborts the open transaction. Fatal errors, and timeouts that leave the producer's state
   * unknown, close it; the next submission starts a fresh one (and fences any zombie).
   */
  private void discardTransaction(RuntimeException cause) {
    if (producer == null) {
      return;
    }
    boolean fatal = cause instanceof ProducerFencedException
        || cause instanceof OutOfOrderSequenceException
        || cause instanceof AuthorizationException
        || cause instanceof UnsupportedVersionException;
    if (!fatal) {
      try {
        producer.abortTransaction();
        return;
      } catch (KafkaException abortFailed) {
        log.atWarn().addKeyValue("event", "publisher.abort_failed")
            .log("abort failed, recreating the producer: {}", abortFailed.toString());
      }
    }
    producer.close(Duration.ZERO);
    producer = null;
  }

  @Override
  public synchronized void close() {
    if (producer != null) {
      producer.close(Duration.ofSeconds(5));
      producer = null;
    }
  }
}
