package dev.inferpipe.consumer.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import java.util.HashMap;
import java.util.Map;

/**
 * The reproducible training command for the bundled models:
 * {@code ./pipeline train diffusion|vqa|classifier [--steps N] [--batch B] [--lr LR] [--seed S]
 * [--init FILE] [--out FILE]} ({@code --init}: continue training saved diffusion weights).
 * Data is drawn on the fly from a seeded generator, so the same command gives the same weights
 * on the same machine.
 */
public final class TrainMain {
  private TrainMain() {}

  public static void main(String[] args) throws Exception {
    if (args.length == 0) {
      System.err.println("usage: train diffusion|vqa|classifier [--steps N] [--batch B] [--seed S] [--out FILE]");
      System.exit(2);
    }
    Map<String, String> flags = new HashMap<>();
    for (int i = 1; i + 1 < args.length; i += 2) {
      flags.put(args[i].replaceFirst("^--", ""), args[i + 1]);
    }
    Engine.getInstance().setRandomSeed(Integer.parseInt(flags.getOrDefault("seed", "1234")));
    String resources = "gpu-consumer/src/main/resources/";
    try (NDManager root = NDManager.newBaseManager()) {
      switch (args[0]) {
        case "diffusion" -> DiffusionTraining.run(TrainOptions.parse(flags, 4500, 32, 6e-4f,
            resources + "models/tiny-shapes-diffusion/weights.params"), root);
        case "vqa" -> VqaTraining.run(TrainOptions.parse(flags, 4000, 64, 1e-3f,
            resources + "models/tiny-shapes-vqa/weights.params"), root);
        case "classifier" -> ClassifierTraining.run(TrainOptions.parse(flags, 1500, 64, 2e-3f,
            resources + "eval/shape-classifier.params"), root);
        default -> {
          System.err.println("unknown model '" + args[0] + "'");
          System.exit(2);
        }
      }
    }
  }
}
