package dev.inferpipe.consumer.diffusion;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.SplittableRandom;

/**
 * One image being sampled: its own sampler, timestep schedule, guidance scale and seeded noise
 * generator, and its current sample. Rows of different jobs share one model call per step
 * ({@link DiffusionSampler#step}) while each follows its own schedule, so a job's pixels do not
 * depend on which other jobs it was batched with. A row owns an NDManager holding its sample and
 * conditioning; {@link #close} frees them.
 */
public final class DiffusionRow implements AutoCloseable {
  private final NDManager manager;
  private final Sampler sampler;
  private final int[] timesteps;
  private final float cfgScale;
  private final SplittableRandom random;
  private final NDArray conditioning;
  private NDArray sample;
  private int index;

  private DiffusionRow(NDManager manager, Sampler sampler, int[] timesteps, float cfgScale,
      SplittableRandom random, NDArray conditioning, NDArray sample) {
    this.manager = manager;
    this.sampler = sampler;
    this.timesteps = timesteps;
    this.cfgScale = cfgScale;
    this.random = random;
    this.conditioning = conditioning;
    this.sample = sample;
  }

  /**
   * A row at step 0: initial noise from {@code seed}, in a new sub-manager of {@code parent}.
   *
   * @param conditioning (2, ...): the prompt's conditioning, then the negative prompt's; moved
   *     into the row's manager
   */
  public static DiffusionRow start(NDManager parent, NoiseSchedule schedule, Sampler sampler,
      int steps, float cfgScale, long seed, NDArray conditioning, int channels, int height,
      int width) {
    if (conditioning.getShape().get(0) != 2) {
      throw new IllegalArgumentException("a row's conditioning is (2, ...): prompt and negative");
    }
    NDManager manager = parent.newSubManager();
    SplittableRandom random = new SplittableRandom(seed);
    int pixels = channels * height * width;
    float[] initial = new float[pixels];
    fillGaussian(random, initial, 0, pixels);
    conditioning.attach(manager);
    NDArray sample = manager.create(initial, new Shape(1, channels, height, width));
    return new DiffusionRow(manager, sampler, schedule.timesteps(steps), cfgScale, random,
        conditioning, sample);
  }

  public Sampler sampler() {
    return sampler;
  }

  public float cfgScale() {
    return cfgScale;
  }

  /** Steps taken so far: the index of the next step. */
  public int stepIndex() {
    return index;
  }

  public int steps() {
    return timesteps.length;
  }

  /** The timestep of the next step. */
  public int timestep() {
    return timesteps[index];
  }

  /** The timestep after the next step, -1 after the last. */
  int nextTimestep() {
    return index + 1 < timesteps.length ? timesteps[index + 1] : -1;
  }

  public boolean done() {
    return index >= timesteps.length;
  }

  /** The current sample, (1, C, h, w). */
  public NDArray sample() {
    return sample;
  }

  NDArray conditioning() {
    return conditioning;
  }

  SplittableRandom random() {
    return random;
  }

  /** Keeps {@code next} (moved into the row's manager) as the sample and advances one step. */
  void advance(NDArray next) {
    next.attach(manager);
    sample.close();
    sample = next;
    index++;
  }

  static void fillGaussian(SplittableRandom random, float[] target, int offset, int count) {
    for (int i = 0; i < count; i++) {
      double u1 = 1.0 - random.nextDouble();
      double u2 = random.nextDouble();
      target[offset + i] = (float) (Math.sqrt(-2.0 * Math.log(u1)) * Math.cos(2 * Math.PI * u2));
    }
  }

  @Override
  public void close() {
    manager.close();
  }
}
