package dev.inferpipe.sink;

import java.time.Duration;
import java.util.function.DoubleSupplier;

/**
 * Exponential backoff with "equal" jitter: after n failed attempts, wait uniformly in
 * [c/2, c] with c = min(max, first * 2^(n-1)). The floor makes the time a retry bound covers
 * predictable (replicas still spread out over the upper half).
 */
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
    long ceiling = ceilingMillis(failedAttempts);
    return Duration.ofMillis(ceiling / 2 + Math.round(ceiling / 2.0 * random.getAsDouble()));
  }

  /** The shortest total wait {@code attempts} attempts can take: what the bound always covers. */
  Duration minimumTotal(int attempts) {
    long total = 0;
    for (int failed = 1; failed < attempts; failed++) {
      total += ceilingMillis(failed) / 2;
    }
    return Duration.ofMillis(total);
  }

  /** c = min(max, first * 2^(n-1)) after n failed attempts. */
  private long ceilingMillis(int failedAttempts) {
    return Math.min(max.toMillis(), first.toMillis() << Math.min(failedAttempts - 1, 20));
  }
}
