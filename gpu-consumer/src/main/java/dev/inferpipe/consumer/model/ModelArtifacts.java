package dev.inferpipe.consumer.model;

import dev.inferpipe.core.model.ModelSpec;

/**
 * A model's files as fetched from its source.
 *
 * @param source where they came from, e.g. {@code classpath:models/tiny-shapes-vqa/}
 */
public record ModelArtifacts(ModelSpec spec, String source, byte[] weights) {}
