package dev.inferpipe.consumer.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.inferpipe.consumer.diffusion.NoisePredictor;
import dev.inferpipe.consumer.diffusion.NoiseSchedule;
import java.util.List;

/**
 * A text-to-image model as the txt2img pipeline drives it: prompts to conditioning, the noise
 * prediction the samplers call once per step, and samples to images.
 */
public interface DiffusionModel extends LoadedModel, NoisePredictor {
  /** The manager per-job managers are opened under (the model's device). */
  NDManager workspace();

  NoiseSchedule schedule();

  /** The space sampling runs in: latent channels and size for a latent model, else the image's. */
  SampleShape sampleShape();

  /** Conditioning for a batch of prompts, (B, ...), in {@code m}. */
  Prompts encodePrompts(NDManager m, List<String> prompts);

  /** Final samples to images, (B, 3, H, W) in [-1, 1]; identity for a pixel-space model. */
  NDArray decode(NDArray samples);

  /** Channels, height and width of one sample. */
  record SampleShape(int channels, int height, int width) {}

  /**
   * @param unknownWords per prompt, the words the model cannot act on (a count, never the text)
   * @param encodedRows how many rows the text encoder computed; the others' states were kept
   *     from an earlier call
   */
  record Prompts(NDArray conditioning, int[] unknownWords, int encodedRows) {}
}
