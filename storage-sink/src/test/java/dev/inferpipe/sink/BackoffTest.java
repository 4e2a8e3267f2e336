package dev.inferpipe.sink;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class BackoffTest {
  @Test
  void doublesPerAttemptUpToTheCapWithJitterBelowTheCeiling() {
    Backoff full = new Backoff(Duration.ofMillis(200), Duration.ofSeconds(10), () -> 1.0);
    assertThat(full.delay(1)).isEqualTo(Duration.ofMillis(200));
    assertThat(full.delay(2)).isEqualTo(Duration.ofMillis(400));
    assertThat(full.delay(6)).isEqualTo(Duration.ofMillis(6400));
    assertThat(full.delay(7)).isEqualTo(Duration.ofSeconds(10));
    assertThat(full.delay(60)).isEqualTo(Duration.ofSeconds(10));
    Backoff half = new Backoff(Duration.ofMillis(200), Duration.ofSeconds(10), () -> 0.5);
    assertThat(half.delay(3)).isEqualTo(Duration.ofMillis(400));
  }
}
