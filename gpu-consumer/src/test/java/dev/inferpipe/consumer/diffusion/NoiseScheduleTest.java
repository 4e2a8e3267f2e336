package dev.inferpipe.consumer.diffusion;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** The schedules against diffusers' own arithmetic (DDIMScheduler / EulerDiscreteScheduler). */
class NoiseScheduleTest {
  private static SchedulerConfig sd(String spacing, int offset) {
    return new SchedulerConfig(1000, 0.00085, 0.012, "scaled_linear", "epsilon", offset, false,
        false, spacing);
  }

  @Test
  void scaledLinearIsLinearInTheSquareRootOfBeta() {
    NoiseSchedule schedule = NoiseSchedule.fromConfig(sd("leading", 1));
    assertThat(schedule.beta(0)).isCloseTo(0.00085, within(1e-9));
    assertThat(schedule.beta(999)).isCloseTo(0.012, within(1e-9));
    double mid = Math.pow(Math.sqrt(0.00085) + (Math.sqrt(0.012) - Math.sqrt(0.00085)) * 500 / 999, 2);
    assertThat(schedule.beta(500)).isCloseTo(mid, within(1e-8));
    // set_alpha_to_one false: the last step lands on alphas_cumprod[0], as diffusers' DDIM does.
    assertThat(schedule.alphaBar(-1)).isCloseTo(1 - 0.00085, within(1e-9));
  }

  @Test
  void timestepSpacingsAreDiffusers() {
    // Stable Diffusion's DDIM at 50 steps: leading spacing with steps_offset 1.
    int[] leading = NoiseSchedule.fromConfig(sd("leading", 1)).timesteps(50);
    assertThat(leading[0]).isEqualTo(981);
    assertThat(leading[1]).isEqualTo(961);
    assertThat(leading[49]).isEqualTo(1);
    assertThat(NoiseSchedule.fromConfig(sd("trailing", 0)).timesteps(4)).containsExactly(999, 749, 499, 249);
    assertThat(NoiseSchedule.fromConfig(sd("linspace", 0)).timesteps(4)).containsExactly(999, 666, 333, 0);
  }

  @Test
  void unsupportedValuesAreRefusedByName() {
    assertThatThrownBy(() -> NoiseSchedule.fromConfig(new SchedulerConfig(1000, 0.0001, 0.02,
        "squaredcos_cap_v2", "epsilon", 0, true, true, "leading")))
        .hasMessageContaining("beta_schedule 'squaredcos_cap_v2' is not supported");
    assertThatThrownBy(() -> NoiseSchedule.fromConfig(new SchedulerConfig(1000, 0.0001, 0.02,
        "linear", "sample", 0, true, true, "leading")))
        .hasMessageContaining("prediction_type 'sample' is not supported");
    assertThatThrownBy(() -> NoiseSchedule.fromConfig(new SchedulerConfig(1000, 0.02, 0.0001,
        "linear", "epsilon", 0, true, true, "leading")))
        .hasMessageContaining("beta_start < beta_end");
  }

  @Test
  void theBundledScheduleIsUnchanged() {
    NoiseSchedule standard = NoiseSchedule.standard();
    assertThat(standard.timesteps(4)).containsExactly(999, 749, 500, 250);
    assertThat(standard.alphaBar(-1)).isEqualTo(1.0);
    assertThat(standard.clipSample()).isTrue();
  }
}
