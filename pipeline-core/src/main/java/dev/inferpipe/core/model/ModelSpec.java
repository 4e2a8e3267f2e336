package dev.inferpipe.core.model;

import com.fasterxml.jackson.annotation.JsonIgnore;
import dev.inferpipe.core.job.Task;
import java.util.List;
import java.util.Map;

/**
 * A model's card, its {@code model.json}: the task it serves, the limits jobs must respect, and
 * its files. Fields that do not apply to the task or format are null.
 *
 * <p>Two kinds of model exist. An <b>exported</b> model ({@code format} is
 * {@link #FORMAT_DIFFUSERS} or {@link #FORMAT_ENCODER_DECODER}) is a directory of TorchScript or
 * ONNX graphs in the diffusers / encoder-decoder layouts, with the SHA-256 of every file in
 * {@code files}; {@code ./pipeline model card} writes the card. A <b>bundled</b> model
 * ({@code format} null) names the Java network that reads its {@code weights}.
 *
 * @param architecture bundled models: which network code reads the weights ({@code tiny-unet-v1})
 * @param width output width (txt2img) or the input resolution images are resized to (vqa)
 * @param height output height (txt2img) or the input resolution images are resized to (vqa)
 * @param weights bundled models: the weights file next to model.json
 * @param weightsSha256 its SHA-256; a download that does not match is refused
 * @param format exported models: the directory layout
 * @param components exported models: each graph by role ({@code unet}, {@code encoder}, ...)
 * @param files exported models: every file of the directory (relative path) and its SHA-256
 * @param sources exported models: files that ship elsewhere than the model directory, by path,
 *     as {@code classpath:<resource>} (a pretrained encoder inside a Maven jar); still checked
 *     against {@code files}
 */
public record ModelSpec(
    String modelId,
    Task task,
    String architecture,
    int width,
    int height,
    Integer maxSteps,
    Integer defaultSteps,
    List<String> samplers,
    Integer maxNewTokens,
    String weights,
    String weightsSha256,
    String format,
    Map<String, ComponentSpec> components,
    Map<String, String> files,
    Map<String, String> sources) {

  /** txt2img: the diffusers / Optimum ONNX Stable Diffusion layout. */
  public static final String FORMAT_DIFFUSERS = "diffusers";
  /** vqa: an encoder graph and a decoder graph (OFA / BLIP style). */
  public static final String FORMAT_ENCODER_DECODER = "encoder-decoder";

  /** A bundled model: a Java architecture and one weights file. */
  public static ModelSpec bundled(String modelId, Task task, String architecture, int width,
      int height, Integer maxSteps, Integer defaultSteps, List<String> samplers,
      Integer maxNewTokens, String weights, String weightsSha256) {
    return new ModelSpec(modelId, task, architecture, width, height, maxSteps, defaultSteps,
        samplers, maxNewTokens, weights, weightsSha256, null, null, null, null);
  }

  @JsonIgnore
  public boolean isExported() {
    return format != null;
  }
}
