package dev.inferpipe.consumer.train;

import java.nio.file.Path;
import java.util.Map;

/**
 * Options of one training run.
 *
 * @param init weights to continue from, or null to start from the seeded initialisation
 */
public record TrainOptions(int steps, int batch, float learningRate, long seed, Path init, Path out) {

  /** {@code --steps --batch --lr --seed --init --out} over a model's defaults. */
  static TrainOptions parse(Map<String, String> flags, int steps, int batch, float learningRate,
      String out) {
    return new TrainOptions(
        Integer.parseInt(flags.getOrDefault("steps", Integer.toString(steps))),
        Integer.parseInt(flags.getOrDefault("batch", Integer.toString(batch))),
        Float.parseFloat(flags.getOrDefault("lr", Float.toString(learningRate))),
        Long.parseLong(flags.getOrDefault("seed", "1234")),
        flags.containsKey("init") ? Path.of(flags.get("init")) : null,
        Path.of(flags.getOrDefault("out", out)));
  }
}
