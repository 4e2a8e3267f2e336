package dev.inferpipe.sink;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Scope;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Puts one object, retrying S3 and network errors with backoff up to a bound. Each attempt is an
 * {@code s3.put_object} span (bucket, key, bytes, attempt); latency, bytes and failures are
 * metered. Puts overwrite: a redelivered output lands on the same key.
 */
final class ObjectWriter {
  private final S3Client s3;
  private final Tracer tracer;
  private final Backoff backoff;
  private final int maxAttempts;
  private final Timer putLatency;
  private final Counter putBytes;
  private final Counter putFailures;
  private final Counter putRetries;
  /** Runs all but one of {@link #putAll}'s objects, so they are written side by side. */
  private final java.util.concurrent.ExecutorService parallel =
      java.util.concurrent.Executors.newCachedThreadPool(runnable -> {
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
   * Writes the objects in parallel (the last on the calling thread), each with its own retries,
   * and returns once all are written: the sum of their retried attempts.
   *
   * @throws StorageFailedException when any object could not be written, after all finished;
   *     its retry count is the sum over all objects
   */
  int putAll(java.util.List<Put> puts) throws InterruptedException {
    java.util.List<java.util.concurrent.Future<Integer>> others = new java.util.ArrayList<>();
    for (Put put : puts.subList(0, puts.size() - 1)) {
      others.add(parallel.submit(io.opentelemetry.context.Context.current().wrap(
          () -> put(put.bucket(), put.key(), put.contentType(), put.body()))));
    }
    Put last = puts.get(puts.size() - 1);
    int retries = 0;
    StorageFailedException failed = null;
    try {
      retries += put(last.bucket(), last.key(), last.contentType(), last.body());
    } catch (StorageFailedException e) {
      failed = e;
      retries += e.retries();
    }
    for (java.util.concurrent.Future<Integer> other : others) {
      try {
        retries += other.get();
      } catch (java.util.concurrent.ExecutionException e) {
        if (e.getCause() instanceof StorageFailedException f) {
          retries += f.retries();
          failed = failed == null ? f : failed;
        } else {
          throw new IllegalStateException("writing an object failed", e.getCause());
        }
      }
    }
    if (failed != null) {
      throw new StorageFailedException(failed.getMessage(), retries, failed.getCause());
    }
    return retries;
  }

  void close() {
    parallel.shutdownNow();
  }

  /**
   * @return how many failed attempts were retried before the object was written
   * @throws StorageFailedException after {@code maxAttempts} failed attempts
   */
  int put(String bucket, String key, String contentType, byte[] body) throws InterruptedException {
    SdkException last = null;
    for (int attempt = 1; attempt <= maxAttempts; attempt++) {
      Span span = tracer.spanBuilder("s3.put_object")
          .setAttribute("aws.s3.bucket", bucket)
          .setAttribute("aws.s3.key", key)
          .setAttribute("s3.object.bytes", (long) body.length)
          .setAttribute("s3.attempt", (long) attempt)
          .startSpan();
      long start = System.nanoTime();
      try (Scope ignored = span.makeCurrent()) {
        s3.putObject(b -> b.bucket(bucket).key(key).contentType(contentType),
            RequestBody.fromBytes(body));
        putLatency.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
        putBytes.increment(body.length);
        return attempt - 1;
      } catch (SdkException e) {
        last = e;
        putFailures.increment();
        span.recordException(e);
        span.setStatus(StatusCode.ERROR, e.getMessage());
      } finally {
        span.end();
      }
      if (attempt < maxAttempts) {
        putRetries.increment();
        Duration wait = backoff.delay(attempt);
        Thread.sleep(wait.toMillis());
      }
    }
    throw new StorageFailedException("s3://" + bucket + "/" + key + " not written after "
        + maxAttempts + " attempts: " + last.getMessage(), maxAttempts - 1, last);
  }
}
