package dev.inferpipe.consumer.model;

import dev.inferpipe.core.model.ModelSpec;
import java.nio.file.Path;

/**
 * A model's files as fetched from its source and verified against its card.
 *
 * @param source where they came from, e.g. {@code classpath:models/tiny-shapes-vqa/}
 * @param weights a bundled model's weights; null for an exported model
 * @param directory an exported model's verified local directory; null for a bundled model
 * @param bytes the size of everything fetched
 */
public record ModelArtifacts(ModelSpec spec, String source, byte[] weights, Path directory,
    long bytes) {

  public static ModelArtifacts bundled(ModelSpec spec, String source, byte[] weights) {
    return new ModelArtifacts(spec, source, weights, null, weights.length);
  }

  public static ModelArtifacts exported(ModelSpec spec, String source, Path directory, long bytes) {
    return new ModelArtifacts(spec, source, null, directory, bytes);
  }
}
