package dev.inferpipe.consumer.model;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import dev.inferpipe.consumer.diffusion.PromptEncoder;
import dev.inferpipe.consumer.diffusion.TinyUNet;
import dev.inferpipe.consumer.vqa.TinyVqa;
import java.io.ByteArrayInputStream;

/** Builds the network an artifact's {@code architecture} names and loads its weights. */
public final class ModelLoader {
  private final Device device;

  public ModelLoader(Device device) {
    this.device = device;
  }

  public LoadedModel load(ModelArtifacts artifacts) {
    NDManager manager = NDManager.newBaseManager(device);
    try {
      String architecture = artifacts.spec().architecture();
      LoadedModel model = switch (architecture) {
        case "tiny-unet-v1" -> {
          TinyUNet unet = new TinyUNet(manager, new PromptEncoder().size(), 0);
          unet.params().load(new ByteArrayInputStream(artifacts.weights()));
          yield new LoadedModel.Diffusion(artifacts.spec(), manager, unet);
        }
        case "tiny-vqa-v1" -> {
          TinyVqa vqa = new TinyVqa(manager, 0);
          vqa.params().load(new ByteArrayInputStream(artifacts.weights()));
          yield new LoadedModel.Vqa(artifacts.spec(), manager, vqa);
        }
        default -> throw new ModelLoadException(artifacts.spec().modelId(),
            "unknown architecture '" + architecture + "'");
      };
      return model;
    } catch (RuntimeException e) {
      manager.close();
      throw e instanceof ModelLoadException ? e
          : new ModelLoadException(artifacts.spec().modelId(), e.getMessage(), e);
    }
  }
}
