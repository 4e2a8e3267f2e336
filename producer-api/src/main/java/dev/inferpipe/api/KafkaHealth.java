package dev.inferpipe.api;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeClusterOptions;

/**
 * Whether the Kafka cluster answers. Probes are cached briefly so a burst of readiness checks
 * costs one round trip.
 */
final class KafkaHealth {
  private static final Duration CACHE = Duration.ofSeconds(2);
  private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(2);

  private final Admin admin;
  private long checkedAtNanos;
  private boolean reachable;

  KafkaHealth(Admin admin) {
    this.admin = admin;
  }

  synchronized boolean isReachable() {
    long now = System.nanoTime();
    if (checkedAtNanos != 0 && now - checkedAtNanos < CACHE.toNanos()) {
      return reachable;
    }
    try {
      admin.describeCluster(new DescribeClusterOptions().timeoutMs((int) PROBE_TIMEOUT.toMillis()))
          .nodes().get(PROBE_TIMEOUT.toMillis() + 500, TimeUnit.MILLISECONDS);
      reachable = true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      reachable = false;
    } catch (Exception e) {
      reachable = false;
    }
    checkedAtNanos = System.nanoTime();
    return reachable;
  }
}
