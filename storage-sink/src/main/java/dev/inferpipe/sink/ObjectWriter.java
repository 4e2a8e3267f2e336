package dev.inferpipe.sink;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Scope;
import io.opentelemetry.context.Context;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Puts one object, retrying S3 and network errors with backoff up to a bound. Each attempt is an
 * {@code s3.put_object} span (bucket, key, bytes, attempt); latency, bytes and failures are
 * metered. Puts overwrite: a redelivered output lands on the same key.
 */
final class ObjectWriter {
  private static final Logger log = LoggerFactory.getLogger(ObjectWriter.class);
  private final S3Client s3;
  private final Tracer tracer;
  private final Backoff backoff;
  private final int maxAttempts;
  private final Timer putLatency;
  private final Counter putBytes;
  private final Counter putFailures;
  private final Counter putRetries;
  /** Runs {@link #start}'s puts, so they are written side by side and beside the claim. */
  private final ExecutorService parallel = Executors.newCachedThreadPool(runnable -> {
    Thread thread = new Thread(runnable, "storage-sink-put");
    thread.setDaemon(true);
    return thread;
  });

  /** One object to write. */
  record Put(String bucket, String key, String contentType, byte[] body) {}

  ObjectWriter(S3Client s3, Tracer tracer, MeterRegistry registry, Backoff backoff, int maxAttempts) {
    this.s3 = s3;
    this.tracer = tracer;
    this.backoff = backoff;
    this.maxAttempts = maxAttempts;
    // Descriptions, units and buckets: MetricCatalog.
    this.putLatency = Timer.builder("inference.s3.put").register(registry);
    this.putBytes = Counter.builder("inference.s3.put.bytes").register(registry);
    this.putFailures = Counter.builder("inference.s3.put.failures").register(registry);
    this.putRetries = Counter.builder("inference.s3.put.retries").register(registry);
  }

  /**
   * Starts writing the objects side by side, each with its own retries, on the writer's threads.
   * The caller goes on (the sink claims the job meanwhile) and then awaits or abandons them.
   */
  PendingPuts start(List<Put> puts) {
    List<Future<Integer>> futures = new ArrayList<>();
    for (Put put : puts) {
      futures.add(parallel.submit(Context.current().wrap(
          () -> put(put.bucket(), put.key(), put.contentType(), put.body()))));
    }
    return new PendingPuts(this, puts, futures);
  }

  /**
   * Deletes one object, retrying like {@link #put}. Deleting a key that does not exist succeeds
   * (S3 answers 204), so an undo may be repeated.
   *
   * @throws StorageFailedException after {@code maxAttempts} failed attempts
   */
  void delete(String bucket, String key) throws InterruptedException {
    retrying("s3.delete_object", bucket, key, -1, false,
        () -> s3.deleteObject(b -> b.bucket(bucket).key(key)));
  }

  /**
   * {@link #delete}, logging instead of throwing when the object stays: for undoing objects no
   * status names ({@code output.orphaned}, with the key, for whoever cleans the bucket).
   */
  void deleteOrLog(String bucket, String key) throws InterruptedException {
    try {
      delete(bucket, key);
    } catch (StorageFailedException e) {
      log.atWarn().addKeyValue("event", "output.orphaned").addKeyValue("key", key)
          .log("an object no status names could not be deleted: {}", e.getMessage());
    }
  }

  void close() {
    parallel.shutdownNow();
  }

  /**
   * @return how many failed attempts were retried before the object was written
   * @throws StorageFailedException after {@code maxAttempts} failed attempts
   */
  int put(String bucket, String key, String contentType, byte[] body) throws InterruptedException {
    int retried = retrying("s3.put_object", bucket, key, body.length, true, () -> {
      long start = System.nanoTime();
      s3.putObject(b -> b.bucket(bucket).key(key).contentType(contentType),
          RequestBody.fromBytes(body));
      putLatency.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
    });
    putBytes.increment(body.length);
    return retried;
  }

  /**
   * Runs one S3 call in up to {@code maxAttempts} attempts, each its own span, with backoff
   * between them. {@code bytes} below 0 leaves the size attribute out; {@code isPut} counts the
   * attempts in the put failure and retry counters.
   *
   * @return how many failed attempts came before the one that succeeded
   */
  private int retrying(String spanName, String bucket, String key, long bytes, boolean isPut,
      Runnable call) throws InterruptedException {
    SdkException last = null;
    for (int attempt = 1; attempt <= maxAttempts; attempt++) {
      SpanBuilder builder = tracer.spanBuilder(spanName)
          .setAttribute("aws.s3.bucket", bucket)
          .setAttribute("aws.s3.key", key)
          .setAttribute("s3.attempt", (long) attempt);
      if (bytes >= 0) {
        builder.setAttribute("s3.object.bytes", bytes);
      }
      Span span = builder.startSpan();
      try (Scope ignored = span.makeCurrent()) {
        call.run();
        return attempt - 1;
      } catch (SdkException e) {
        last = e;
        if (isPut) {
          putFailures.increment();
        }
        span.recordException(e);
        span.setStatus(StatusCode.ERROR, e.getMessage());
      } finally {
        span.end();
      }
      if (attempt < maxAttempts) {
        if (isPut) {
          putRetries.increment();
        }
        Thread.sleep(backoff.delay(attempt).toMillis());
      }
    }
    String verb = isPut ? "written" : "deleted";
    throw new StorageFailedException("s3://" + bucket + "/" + key + " not " + verb + " after "
        + maxAttempts + " attempts: " + last.getMessage(), maxAttempts - 1, last);
  }
}
