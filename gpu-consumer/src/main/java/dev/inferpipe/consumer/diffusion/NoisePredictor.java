package dev.inferpipe.consumer.diffusion;

import ai.djl.ndarray.NDArray;

/**
 * What the samplers need from a diffusion model: epsilon given noisy images, time and prompt
 * conditioning. {@link TinyUNet} is the project's model; an exported model (TorchScript loaded
 * through DJL) plugs in by implementing this one method.
 */
public interface NoisePredictor {
  NDArray predictNoise(NDArray x, NDArray time, NDArray prompt);
}
