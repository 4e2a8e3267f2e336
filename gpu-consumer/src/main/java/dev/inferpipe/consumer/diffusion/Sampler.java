package dev.inferpipe.consumer.diffusion;

import java.util.Locale;

/**
 * How noise is removed step by step.
 *
 * <ul>
 *   <li>{@code ddim}: deterministic DDIM (eta = 0) with the predicted clean image clipped to
 *       [-1, 1] at each step.
 *   <li>{@code euler}: the Euler method on the probability-flow ODE in sigma space
 *       (x / sqrt(alpha_bar), sigma = sqrt((1 - alpha_bar) / alpha_bar)); the same update as DDIM
 *       without clipping.
 *   <li>{@code ddpm}: ancestral sampling with the DDPM posterior on the chosen sub-sequence of
 *       timesteps; fresh seeded noise is added at every step but the last.
 * </ul>
 */
public enum Sampler {
  DDIM,
  EULER,
  DDPM;

  public static Sampler parse(String name) {
    return valueOf(name.toUpperCase(Locale.ROOT));
  }
}
