package dev.inferpipe.consumer.diffusion;

import ai.djl.ndarray.NDArray;

/** What the samplers need from a diffusion model: its output for noisy samples at a timestep. */
public interface NoisePredictor {
  /**
   * @param x noisy samples, (2B, C, h, w): the batch twice, for guidance
   * @param timestep the training timestep, 0..T-1
   * @param conditioning the prompts' conditioning then the negative prompts', (2B, ...)
   * @return the prediction the schedule's {@code prediction_type} names, shaped like {@code x}
   */
  NDArray predictNoise(NDArray x, int timestep, NDArray conditioning);
}
