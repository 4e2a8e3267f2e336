package dev.inferpipe.core.job;

/**
 * Text-to-image input. Optional fields are null until {@link JobDefaults} fills them, so a
 * published job always records the exact seed and sampler settings it ran with.
 */
public record Txt2ImgInput(
    String prompt,
    String negativePrompt,
    Integer steps,
    Double cfgScale,
    Long seed,
    String sampler,
    Integer width,
    Integer height)
    implements JobInput {}
