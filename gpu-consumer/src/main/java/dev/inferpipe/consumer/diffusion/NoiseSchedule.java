package dev.inferpipe.consumer.diffusion;

import java.util.Locale;

/**
 * The DDPM forward process and how samplers walk it: the beta schedule over {@code T} training
 * steps, the cumulative products the samplers need, which timesteps a run of {@code n} steps
 * visits, what the network predicts and whether the predicted clean sample is clipped. Built
 * from a diffusers {@code scheduler_config.json} ({@link #fromConfig}) or, for the bundled
 * model, {@link #standard()}.
 */
public final class NoiseSchedule {
  /** Which timesteps {@code n} sampling steps visit (diffusers' {@code timestep_spacing}). */
  public enum Spacing {
    /** {@code (n-1-i) * (T / n) + steps_offset}: diffusers' default for DDIM and DDPM. */
    LEADING,
    /** {@code round(T - i * T / n) - 1}. */
    TRAILING,
    /** {@code round(linspace(0, T - 1, n))}, descending: diffusers' default for Euler. */
    LINSPACE,
    /** {@code round((T - 1) * (1 - i / n))}: the bundled model's own spacing. */
    BUNDLED;

    static Spacing parse(String name) {
      return switch (name) {
        case "leading" -> LEADING;
        case "trailing" -> TRAILING;
        case "linspace" -> LINSPACE;
        default -> throw new IllegalArgumentException("timestep_spacing '" + name
            + "' is not supported (leading, trailing or linspace)");
      };
    }
  }

  /** What the network outputs (diffusers' {@code prediction_type}). */
  public enum Prediction {
    EPSILON,
    V_PREDICTION;

    static Prediction parse(String name) {
      return switch (name) {
        case "epsilon" -> EPSILON;
        case "v_prediction" -> V_PREDICTION;
        default -> throw new IllegalArgumentException("prediction_type '" + name
            + "' is not supported (epsilon or v_prediction)");
      };
    }
  }

  private final int steps;
  private final double[] betas;
  private final double[] alphaBar;
  private final double finalAlphaBar;
  private final int stepsOffset;
  private final Spacing spacing;
  private final Prediction prediction;
  private final boolean clipSample;

  private NoiseSchedule(double[] betas, boolean setAlphaToOne, int stepsOffset, Spacing spacing,
      Prediction prediction, boolean clipSample) {
    this.steps = betas.length;
    this.betas = betas;
    this.alphaBar = new double[steps];
    double product = 1.0;
    for (int t = 0; t < steps; t++) {
      product *= 1.0 - betas[t];
      alphaBar[t] = product;
    }
    this.finalAlphaBar = setAlphaToOne ? 1.0 : alphaBar[0];
    this.stepsOffset = stepsOffset;
    this.spacing = spacing;
    this.prediction = prediction;
    this.clipSample = clipSample;
  }

  /** The bundled model's schedule: linear betas 1e-4..0.02 over 1000 steps, clipped, epsilon. */
  public static NoiseSchedule standard() {
    return new NoiseSchedule(linear(1000, 1e-4, 0.02), true, 0, Spacing.BUNDLED,
        Prediction.EPSILON, true);
  }

  /** A schedule as diffusers reads {@code scheduler_config.json}; unknown values are refused. */
  public static NoiseSchedule fromConfig(SchedulerConfig config) {
    int count = config.numTrainTimesteps();
    if (count < 2 || count > 100_000) {
      throw new IllegalArgumentException("num_train_timesteps must be 2..100000, got " + count);
    }
    if (!(config.betaStart() > 0 && config.betaEnd() < 1 && config.betaStart() < config.betaEnd())) {
      throw new IllegalArgumentException("need 0 < beta_start < beta_end < 1, got "
          + config.betaStart() + ", " + config.betaEnd());
    }
    double[] betas = switch (config.betaSchedule().toLowerCase(Locale.ROOT)) {
      case "linear" -> linear(count, config.betaStart(), config.betaEnd());
      case "scaled_linear" -> scaledLinear(count, config.betaStart(), config.betaEnd());
      default -> throw new IllegalArgumentException("beta_schedule '" + config.betaSchedule()
          + "' is not supported (linear or scaled_linear)");
    };
    if (config.stepsOffset() < 0 || config.stepsOffset() >= count) {
      throw new IllegalArgumentException("steps_offset must be 0.." + (count - 1));
    }
    return new NoiseSchedule(betas, config.setAlphaToOne(), config.stepsOffset(),
        Spacing.parse(config.timestepSpacing()), Prediction.parse(config.predictionType()),
        config.clipSample());
  }

  private static double[] linear(int count, double start, double end) {
    double[] betas = new double[count];
    for (int t = 0; t < count; t++) {
      betas[t] = start + (end - start) * t / (count - 1);
    }
    return betas;
  }

  /** Stable Diffusion's: linear in sqrt(beta), squared (diffusers computes it in float32). */
  private static double[] scaledLinear(int count, double start, double end) {
    double[] betas = new double[count];
    double a = Math.sqrt(start);
    double b = Math.sqrt(end);
    for (int t = 0; t < count; t++) {
      float root = (float) (a + (b - a) * t / (count - 1));
      betas[t] = root * root;
    }
    return betas;
  }

  /** Training timesteps T. */
  public int steps() {
    return steps;
  }

  public double beta(int t) {
    return betas[t];
  }

  /** Cumulative product of (1 - beta) up to and including {@code t}; for t < 0 the final one. */
  public double alphaBar(int t) {
    return t < 0 ? finalAlphaBar : alphaBar[t];
  }

  public Prediction prediction() {
    return prediction;
  }

  /** Whether DDIM and DDPM clip the predicted clean sample to [-1, 1]. */
  public boolean clipSample() {
    return clipSample;
  }

  /** The {@code count} timesteps a run visits, from the noisiest down. */
  public int[] timesteps(int count) {
    if (count < 1 || count > steps) {
      throw new IllegalArgumentException("steps must be 1.." + steps + ", got " + count);
    }
    int[] ts = new int[count];
    for (int i = 0; i < count; i++) {
      ts[i] = switch (spacing) {
        case LEADING -> Math.min(steps - 1, (count - 1 - i) * (steps / count) + stepsOffset);
        case TRAILING -> Math.max(0, (int) Math.round(steps - (double) i * steps / count) - 1);
        case LINSPACE -> (int) Math.round(count == 1 ? steps - 1
            : (steps - 1) * (double) (count - 1 - i) / (count - 1));
        case BUNDLED -> (int) Math.round((steps - 1) * (1.0 - (double) i / count));
      };
    }
    return ts;
  }
}
