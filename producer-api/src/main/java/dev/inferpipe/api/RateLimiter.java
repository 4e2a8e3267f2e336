package dev.inferpipe.api;

import java.util.HashMap;
import java.util.Map;
import java.util.OptionalLong;
import java.util.function.LongSupplier;

/** A token bucket per API key, per API replica: {@code burst} at once, then {@code rate}/s. */
final class RateLimiter {
  private record Bucket(double tokens, long atNanos) {}

  private final Map<String, Bucket> buckets = new HashMap<>();
  private final LongSupplier nanoClock;

  RateLimiter(LongSupplier nanoClock) {
    this.nanoClock = nanoClock;
  }

  /** Takes a token; when none is left, the seconds until one is (for Retry-After). */
  synchronized OptionalLong acquire(ApiKey key) {
    long now = nanoClock.getAsLong();
    Bucket bucket = buckets.getOrDefault(key.id(), new Bucket(key.burst(), now));
    double tokens = Math.min(key.burst(),
        bucket.tokens() + (now - bucket.atNanos()) / 1e9 * key.ratePerSecond());
    if (tokens >= 1) {
      buckets.put(key.id(), new Bucket(tokens - 1, now));
      return OptionalLong.empty();
    }
    buckets.put(key.id(), new Bucket(tokens, now));
    return OptionalLong.of((long) Math.ceil((1 - tokens) / key.ratePerSecond()));
  }
}
