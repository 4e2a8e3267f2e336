package dev.inferpipe.consumer.eval;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import dev.inferpipe.consumer.model.LoadedModel;
import dev.inferpipe.consumer.model.ModelLoader;
import dev.inferpipe.consumer.model.ModelRepository;
import dev.inferpipe.consumer.train.ClassifierTraining;
import java.nio.file.Path;
import java.util.SplittableRandom;

/** {@code ./pipeline evaluate}: prints the quality figures docs/models.md reports. */
public final class EvaluateMain {
  private EvaluateMain() {}

  public static void main(String[] args) {
    int perPrompt = args.length > 0 ? Integer.parseInt(args[0]) : 17;
    ModelRepository repository = new ModelRepository("classpath:models/", Path.of("/tmp"), () -> null);
    ModelLoader loader = new ModelLoader(Device.cpu());
    try (NDManager root = NDManager.newBaseManager();
        LoadedModel.Diffusion diffusion =
            (LoadedModel.Diffusion) loader.load(repository.fetch("tiny-shapes-diffusion"));
        LoadedModel.Vqa vqa = (LoadedModel.Vqa) loader.load(repository.fetch("tiny-shapes-vqa"))) {
      ShapeClassifier judge = ModelEvaluation.bundledClassifier(root);
      long start = System.nanoTime();
      System.out.printf("judge accuracy on 2000 held-out real images: %.4f%n",
          ClassifierTraining.heldOutAccuracy(root, judge, new SplittableRandom(99), 2000));
      ModelEvaluation.Agreement agreement = ModelEvaluation.diffusionAgreement(
          root, diffusion, judge, perPrompt, 25, 3f, 10_000);
      System.out.printf("txt2img: %d samples, DDIM 25 steps, cfg 3: colour %.4f, shape %.4f (%.0f s)%n",
          agreement.samples(), agreement.color(), agreement.shape(), (System.nanoTime() - start) / 1e9);
      System.out.printf("vqa exact match on 1000 held-out questions: %.4f%n",
          ModelEvaluation.vqaExactMatch(root, vqa.model(), 1000, 777));
    }
  }
}
