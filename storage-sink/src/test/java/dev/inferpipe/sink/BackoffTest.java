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
    Backoff floor = new Backoff(Duration.ofMillis(200), Duration.ofSeconds(10), () -> 0.0);
    assertThat(floor.delay(3)).isEqualTo(Duration.ofMillis(400));
    assertThat(floor.delay(9)).isEqualTo(Duration.ofSeconds(5));
    Backoff half = new Backoff(Duration.ofMillis(200), Duration.ofSeconds(10), () -> 0.5);
    assertThat(half.delay(3)).isEqualTo(Duration.ofMillis(600));
  }

  @Test
  void theDefaultBoundRidesOutAThirtySecondS3OutageWhateverTheJitter() {
    SinkSettings defaults = SinkSettings.from(dev.inferpipe.core.config.Env.of(java.util.Map.of()));
    Backoff backoff = new Backoff(defaults.firstBackoff(), defaults.maxBackoff(), () -> 0.0);
    assertThat(backoff.minimumTotal(defaults.maxAttempts())).isGreaterThan(Duration.ofSeconds(60));
    assertThat(backoff.minimumTotal(3)).isEqualTo(Duration.ofMillis(100 + 200));
  }
}
