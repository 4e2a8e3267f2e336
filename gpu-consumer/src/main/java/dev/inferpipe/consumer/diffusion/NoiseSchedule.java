package dev.inferpipe.consumer.diffusion;

/**
 * The DDPM forward process: a linear beta schedule over {@code T} steps and the cumulative
 * products the samplers need. Training and every sampler share this one schedule.
 */
public final class NoiseSchedule {
  private final int steps;
  private final double[] betas;
  private final double[] alphaBar;

  public NoiseSchedule(int steps, double betaStart, double betaEnd) {
    this.steps = steps;
    this.betas = new double[steps];
    this.alphaBar = new double[steps];
    double product = 1.0;
    for (int t = 0; t < steps; t++) {
      betas[t] = betaStart + (betaEnd - betaStart) * t / (steps - 1);
      product *= 1.0 - betas[t];
      alphaBar[t] = product;
    }
  }

  public static NoiseSchedule standard() {
    return new NoiseSchedule(1000, 1e-4, 0.02);
  }

  public int steps() {
    return steps;
  }

  public double beta(int t) {
    return betas[t];
  }

  /** Cumulative product of (1 - beta) up to and including {@code t}; 1.0 for t < 0. */
  public double alphaBar(int t) {
    return t < 0 ? 1.0 : alphaBar[t];
  }

  /** {@code count} timesteps from T-1 down to 0, evenly spaced (DDIM/Euler/DDPM sub-sequence). */
  public int[] descending(int count) {
    int[] ts = new int[count];
    for (int i = 0; i < count; i++) {
      ts[i] = (int) Math.round((steps - 1) * (1.0 - (double) i / count));
    }
    return ts;
  }
}
