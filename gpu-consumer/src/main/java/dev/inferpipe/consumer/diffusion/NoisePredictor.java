package dev.inferpipe.consumer.diffusion;

import ai.djl.ndarray.NDArray;

/** What the samplers need from a diffusion model: its output for noisy samples at timesteps. */
public interface NoisePredictor {
  /**
   * @param x noisy samples, (2B, C, h, w): the batch twice, for guidance
   * @param timesteps the training timestep of each of the 2B rows, 0..T-1: rows of one batch may
   *     be at different steps of their own schedules (iteration-level batching)
   * @param conditioning the prompts' conditioning then the negative prompts', (2B, ...)
   * @return the prediction the schedule's {@code prediction_type} names, shaped like {@code x}
   */
  NDArray predictNoise(NDArray x, long[] timesteps, NDArray conditioning);
}
