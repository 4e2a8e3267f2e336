package dev.inferpipe.consumer.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import java.nio.file.Path;
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
    long seed = Long.parseLong(flags.getOrDefault("seed", "1234"));
    Engine.getInstance().setRandomSeed((int) seed);
    try (NDManager root = NDManager.newBaseManager()) {
      switch (args[0]) {
        case "diffusion" -> DiffusionTraining.run(new DiffusionTraining.Options(
            Integer.parseInt(flags.getOrDefault("steps", "4000")),
            Integer.parseInt(flags.getOrDefault("batch", "64")),
            Float.parseFloat(flags.getOrDefault("lr", "0.0006")),
            seed,
            flags.containsKey("init") ? Path.of(flags.get("init")) : null,
            Path.of(flags.getOrDefault("out",
                "gpu-consumer/src/main/resources/models/tiny-shapes-diffusion/weights.params"))), root);
        case "vqa" -> VqaTraining.run(new VqaTraining.Options(
            Integer.parseInt(flags.getOrDefault("steps", "3000")),
            Integer.parseInt(flags.getOrDefault("batch", "64")),
            Float.parseFloat(flags.getOrDefault("lr", "0.001")),
            seed,
            Path.of(flags.getOrDefault("out",
                "gpu-consumer/src/main/resources/models/tiny-shapes-vqa/weights.params"))), root);
        case "classifier" -> ClassifierTraining.run(new ClassifierTraining.Options(
            Integer.parseInt(flags.getOrDefault("steps", "1500")),
            Integer.parseInt(flags.getOrDefault("batch", "64")),
            Float.parseFloat(flags.getOrDefault("lr", "0.002")),
            seed,
            Path.of(flags.getOrDefault("out",
                "gpu-consumer/src/main/resources/eval/shape-classifier.params"))), root);
        default -> {
          System.err.println("unknown model '" + args[0] + "'");
          System.exit(2);
        }
      }
    }
  }
}
