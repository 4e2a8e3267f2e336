package dev.inferpipe.core.model;

import dev.inferpipe.core.job.Task;
import java.util.List;
import java.util.Map;

/**
 * A model's card, its {@code model.json}: the task it serves, the limits jobs must respect, and
 * its files. Fields that do not apply to the task are null.
 *
 * <p>Every model, the bundled ones included, is an exported model: a directory of TorchScript or
 * ONNX graphs in the diffusers ({@link #FORMAT_DIFFUSERS}) or encoder-decoder
 * ({@link #FORMAT_ENCODER_DECODER}) layout, with the SHA-256 of every file in {@code files}.
 * {@code ./pipeline model card} writes the card.
 *
 * @param width output width (txt2img) or the input resolution images are resized to (vqa)
 * @param height output height (txt2img) or the input resolution images are resized to (vqa)
 * @param format the directory layout
 * @param components each graph by role ({@code unet}, {@code encoder}, ...)
 * @param files every file of the directory (relative path) and its SHA-256
 * @param sources files that ship elsewhere than the model directory, by path, as
 *     {@code classpath:<resource>} (a pretrained encoder inside a Maven jar); still checked
 *     against {@code files}
 * @param understands what the model can act on, by kind (txt2img: colours, shapes, positions,
 *     sizes, objects; vqa: answers, questions) and {@code words}, every word of its training
 *     text; written by the training code; null when unknown
 */
public record ModelSpec(
    String modelId,
    Task task,
    int width,
    int height,
    Integer maxSteps,
    Integer defaultSteps,
    List<String> samplers,
    Integer maxNewTokens,
    String format,
    Map<String, ComponentSpec> components,
    Map<String, String> files,
    Map<String, String> sources,
    Map<String, List<String>> understands) {

  /** txt2img: the diffusers / Optimum ONNX Stable Diffusion layout. */
  public static final String FORMAT_DIFFUSERS = "diffusers";
  /** vqa: an encoder graph and a decoder graph (OFA / BLIP style). */
  public static final String FORMAT_ENCODER_DECODER = "encoder-decoder";

  /** A card with only the limits a job is validated against, and no files (tests). */
  public static ModelSpec limits(String modelId, Task task, int width, int height,
      Integer maxSteps, Integer defaultSteps, List<String> samplers, Integer maxNewTokens) {
    return new ModelSpec(modelId, task, width, height, maxSteps, defaultSteps, samplers,
        maxNewTokens, task == Task.VQA ? FORMAT_ENCODER_DECODER : FORMAT_DIFFUSERS, null, null,
        null, null);
  }
}
