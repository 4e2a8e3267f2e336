package dev.inferpipe.core.model;

import dev.inferpipe.core.job.Task;
import java.util.List;

/**
 * What a model declares about itself in its {@code model.json}: the task it serves, the limits
 * jobs must respect, and its artifacts. Fields that do not apply to the task are null.
 *
 * @param architecture which network code reads the weights (e.g. {@code tiny-unet-v1})
 * @param width output width (txt2img) or the input resolution images are resized to (vqa)
 * @param height output height (txt2img) or the input resolution images are resized to (vqa)
 * @param weights the weights file next to model.json
 * @param weightsSha256 its SHA-256; a download that does not match is refused
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
    String weightsSha256) {}
