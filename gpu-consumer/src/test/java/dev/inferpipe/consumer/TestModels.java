package dev.inferpipe.consumer;

import ai.djl.Device;
import dev.inferpipe.consumer.model.LoadedModel;
import dev.inferpipe.consumer.model.ModelLoader;
import dev.inferpipe.consumer.model.ModelRepository;
import dev.inferpipe.consumer.shapes.Scene;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Base64;
import javax.imageio.ImageIO;

/** The bundled models, loaded once per test JVM (they are read-only at inference). */
public final class TestModels {
  private static LoadedModel.Diffusion diffusion;
  private static LoadedModel.Vqa vqa;

  private TestModels() {}

  public static ModelRepository bundled() {
    return new ModelRepository("classpath:models/", Path.of("target", "model-cache"), () -> null);
  }

  public static synchronized LoadedModel.Diffusion diffusion() {
    if (diffusion == null) {
      diffusion = (LoadedModel.Diffusion) new ModelLoader(Device.cpu())
          .load(bundled().fetch("tiny-shapes-diffusion"));
    }
    return diffusion;
  }

  public static synchronized LoadedModel.Vqa vqa() {
    if (vqa == null) {
      vqa = (LoadedModel.Vqa) new ModelLoader(Device.cpu()).load(bundled().fetch("tiny-shapes-vqa"));
    }
    return vqa;
  }

  public static String pngBase64(Scene scene) {
    try (ByteArrayOutputStream out = new ByteArrayOutputStream()) {
      ImageIO.write(scene.image(), "png", out);
      return Base64.getEncoder().encodeToString(out.toByteArray());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
