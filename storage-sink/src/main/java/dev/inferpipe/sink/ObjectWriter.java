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

  ObjectWriter(S3Client s3, Tracer tracer, MeterRegistry registry, Backoff backoff, int maxAttempts) {
    this.s3 = s3;
    this.tracer = tracer;
    this.backoff = backoff;
    this.maxAttempts = maxAttempts;
    this.putLatency = Timer.builder("inference.s3.put").description("S3 PutObject latency")
        .publishPercentileHistogram().register(registry);
    this.putBytes = Counter.builder("inference.s3.put.bytes").register(registry);
    this.putFailures = Counter.builder("inference.s3.put.failures").register(registry);
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
        Duration wait = backoff.delay(attempt);
        Thread.sleep(wait.toMillis());
      }
    }
    throw new StorageFailedException("s3://" + bucket + "/" + key + " not written after "
        + maxAttempts + " attempts: " + last.getMessage(), maxAttempts - 1, last);
  }
}
