package dev.inferpipe.consumer.model;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import dev.inferpipe.consumer.diffusion.PromptEncoder;
import dev.inferpipe.consumer.diffusion.TinyUNet;
import dev.inferpipe.consumer.exported.ExportedModels;
import dev.inferpipe.consumer.vqa.TinyVqa;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Tracer;
import java.io.ByteArrayInputStream;

/**
 * Turns fetched artifacts into a model in memory: an exported model's graphs through DJL
 * Criteria ({@link ExportedModels}), or the Java network a bundled model's {@code architecture}
 * names with its weights.
 */
public final class ModelLoader {
  private final Device device;
  private final Tracer tracer;

  public ModelLoader(Device device, Tracer tracer) {
    this.device = device;
    this.tracer = tracer;
  }

  /** A loader whose component spans go nowhere (tools, tests). */
  public ModelLoader(Device device) {
    this(device, OpenTelemetry.noop().getTracer("inferpipe"));
  }

  public LoadedModel load(ModelArtifacts artifacts) {
    if (artifacts.spec().isExported()) {
      return ExportedModels.load(artifacts.spec(), artifacts.directory(), device, tracer);
    }
    NDManager manager = NDManager.newBaseManager(device, "PyTorch");
    try {
      String architecture = artifacts.spec().architecture();
      LoadedModel model = switch (String.valueOf(architecture)) {
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
