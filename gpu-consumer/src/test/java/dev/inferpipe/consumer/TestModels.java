package dev.inferpipe.consumer;

import ai.djl.Device;
import dev.inferpipe.consumer.model.DiffusionModel;
import dev.inferpipe.consumer.model.ModelLoader;
import dev.inferpipe.consumer.model.ModelRepository;
import dev.inferpipe.consumer.model.VqaModel;
import java.nio.file.Path;

/** The bundled models, loaded once per test JVM (they are read-only at inference). */
public final class TestModels {
  private static DiffusionModel diffusion;
  private static VqaModel vqa;

  private TestModels() {}

  public static ModelRepository bundled() {
    return bundled(Path.of("target", "model-cache"));
  }

  public static ModelRepository bundled(Path cache) {
    return new ModelRepository("classpath:models/", cache, () -> null);
  }

  public static synchronized DiffusionModel diffusion() {
    if (diffusion == null) {
      diffusion = (DiffusionModel) new ModelLoader(Device.cpu())
          .load(bundled().fetch("tiny-shapes-diffusion"));
    }
    return diffusion;
  }

  public static synchronized VqaModel vqa() {
    if (vqa == null) {
      vqa = (VqaModel) new ModelLoader(Device.cpu()).load(bundled().fetch("tiny-shapes-vqa"));
    }
    return vqa;
  }
}
