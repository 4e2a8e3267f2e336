package dev.inferpipe.core.model;

import dev.inferpipe.core.job.Task;
import java.util.List;

/**
 * What a model declares about itself in its {@code model.json}: the task it serves and the
 * limits jobs must respect. Fields that do not apply to the task are null.
 *
 * @param width output width (txt2img) or the input resolution images are resized to (vqa)
 * @param height output height (txt2img) or the input resolution images are resized to (vqa)
 */
public record ModelSpec(
    String modelId,
    Task task,
    int width,
    int height,
    Integer maxSteps,
    Integer defaultSteps,
    List<String> samplers,
    Integer maxNewTokens) {}
