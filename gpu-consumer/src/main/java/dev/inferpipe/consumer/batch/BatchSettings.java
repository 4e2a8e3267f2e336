package dev.inferpipe.consumer.batch;

import dev.inferpipe.core.config.Env;
import java.time.Duration;

/**
 * How gpu-consumer batches jobs across requests, in Triton's words.
 *
 * @param maxBatchSize the most rows one model call runs; 1 runs one job at a time
 * @param maxQueueDelay how long a lone job waits for company when nothing is running (0: none)
 * @param maxJobsInMemory the most request records held at once (queued, sampling or publishing);
 *     the request partitions are paused at this bound and resumed below it
 */
public record BatchSettings(int maxBatchSize, Duration maxQueueDelay, int maxJobsInMemory) {
  public static final String MAX_BATCH_SIZE_ENV = "INFERPIPE_MAX_BATCH_SIZE";
  public static final String MAX_QUEUE_DELAY_ENV = "INFERPIPE_MAX_QUEUE_DELAY";
  public static final String MAX_JOBS_IN_MEMORY_ENV = "INFERPIPE_MAX_JOBS_IN_MEMORY";
  /** Chosen with {@code ./pipeline bench pipeline} on the 2-core CPU (docs/PERFORMANCE.md). */
  public static final int DEFAULT_MAX_BATCH_SIZE = 8;

  public BatchSettings {
    if (maxBatchSize < 1 || maxBatchSize > 256) {
      throw new IllegalArgumentException(MAX_BATCH_SIZE_ENV + " must be 1..256, got " + maxBatchSize);
    }
    if (maxQueueDelay.isNegative() || maxQueueDelay.compareTo(Duration.ofSeconds(10)) > 0) {
      throw new IllegalArgumentException(MAX_QUEUE_DELAY_ENV + " must be 0..10s, got " + maxQueueDelay);
    }
    if (maxJobsInMemory < maxBatchSize) {
      throw new IllegalArgumentException(MAX_JOBS_IN_MEMORY_ENV + " must be at least "
          + MAX_BATCH_SIZE_ENV + " (" + maxBatchSize + "), got " + maxJobsInMemory);
    }
  }

  /** One job at a time: what gpu-consumer did before batching. */
  public static BatchSettings sequential() {
    return new BatchSettings(1, Duration.ZERO, 1);
  }

  public static BatchSettings from(Env env) {
    int size = env.integer(MAX_BATCH_SIZE_ENV, DEFAULT_MAX_BATCH_SIZE);
    return new BatchSettings(size, env.duration(MAX_QUEUE_DELAY_ENV, Duration.ZERO),
        env.integer(MAX_JOBS_IN_MEMORY_ENV, Math.max(4 * size, 4)));
  }
}
