package dev.inferpipe.sink;

import java.time.Duration;
import java.util.function.DoubleSupplier;

/** Exponential backoff with full jitter: attempt n waits uniformly in [0, min(max, first * 2^n)]. */
final class Backoff {
  private final Duration first;
  private final Duration max;
  private final DoubleSupplier random;

  Backoff(Duration first, Duration max, DoubleSupplier random) {
    this.first = first;
    this.max = max;
    this.random = random;
  }

  Duration delay(int failedAttempts) {
    long ceiling = first.toMillis() << Math.min(failedAttempts - 1, 20);
    long capped = Math.min(max.toMillis(), ceiling);
    return Duration.ofMillis(Math.round(capped * random.getAsDouble()));
  }
}
