package dev.inferpipe.consumer.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.inferpipe.consumer.nn.AdamStep;
import dev.inferpipe.consumer.nn.Params;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Function;

/**
 * The loop every model here trains with: a fresh NDManager per batch (closed after the step, so
 * nothing but the weights and optimiser state survives), Adam with a cosine schedule, a smoothed
 * loss printed every 100 steps, and the EMA weights swapped in at the end.
 */
final class TrainingLoop {
  private TrainingLoop() {}

  static void run(Params params, int steps, float learningRate, float emaDecay,
      Function<NDManager, NDArray> loss) {
    AdamStep optimizer = new AdamStep(params, learningRate, steps, emaDecay);
    long start = System.nanoTime();
    double smoothed = 0;
    for (int step = 1; step <= steps; step++) {
      try (NDManager batch = params.manager().newSubManager()) {
        float value = optimizer.step(() -> loss.apply(batch));
        smoothed = step == 1 ? value : 0.98 * smoothed + 0.02 * value;
      }
      if (step % 100 == 0 || step == steps) {
        System.out.printf("step %d/%d loss %.4f (%.0f s)%n", step, steps, smoothed,
            (System.nanoTime() - start) / 1e9);
      }
    }
    optimizer.useAveragedWeights();
  }

  static void save(Params params, Path out) throws IOException {
    Files.createDirectories(out.toAbsolutePath().getParent());
    try (OutputStream stream = Files.newOutputStream(out)) {
      params.save(stream);
    }
    System.out.println("saved " + out);
  }
}
