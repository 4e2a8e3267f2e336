package dev.inferpipe.consumer.model;

import dev.inferpipe.core.model.ModelSpec;

/**
 * A model in memory, ready to run; closing it frees its native memory. A task's pipeline sees
 * it through {@link DiffusionModel} or {@link VqaModel}; the implementations are the exported
 * layouts in {@code dev.inferpipe.consumer.exported}.
 */
public interface LoadedModel extends AutoCloseable {
  ModelSpec spec();

  @Override
  void close();
}
