package dev.inferpipe.consumer.model;

import dev.inferpipe.core.model.ModelSpec;
import java.nio.file.Path;

/**
 * A model's files as fetched from its source and verified against its card.
 *
 * @param source where they came from, e.g. {@code classpath:models/tiny-shapes-vqa/}
 * @param directory the verified local directory the graphs load from
 * @param bytes the size of everything fetched
 */
public record ModelArtifacts(ModelSpec spec, String source, Path directory, long bytes) {}
