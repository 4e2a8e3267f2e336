package dev.inferpipe.consumer.model;

import ai.djl.ndarray.NDManager;
import dev.inferpipe.consumer.diffusion.TinyUNet;
import dev.inferpipe.consumer.vqa.TinyVqa;
import dev.inferpipe.core.model.ModelSpec;

/** A model in memory, ready to run; closing it frees its native memory. */
public sealed interface LoadedModel extends AutoCloseable {
  ModelSpec spec();

  NDManager manager();

  @Override
  default void close() {
    manager().close();
  }

  /** A text-to-image model. */
  record Diffusion(ModelSpec spec, NDManager manager, TinyUNet unet) implements LoadedModel {}

  /** A visual question answering model. */
  record Vqa(ModelSpec spec, NDManager manager, TinyVqa model) implements LoadedModel {}
}
