package dev.inferpipe.consumer.nn;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.training.GradientCollector;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * One optimisation step over {@link Params}: record the loss under a gradient collector,
 * backpropagate, let DJL's Adam update every weight in place, clear the gradients, and keep an
 * exponential moving average of the weights (the EMA is what gets saved: it samples better).
 */
public final class AdamStep {
  private final Params params;
  private final Optimizer adam;
  private final Map<String, NDArray> ema = new LinkedHashMap<>();
  private final float emaDecay;

  public AdamStep(Params params, float learningRate, int totalSteps, float emaDecay) {
    this.params = params;
    this.adam = Optimizer.adam()
        .optLearningRateTracker(Tracker.cosine().setBaseValue(learningRate)
            .optFinalValue(learningRate / 20).setMaxUpdates(totalSteps).build())
        .build();
    this.emaDecay = emaDecay;
    params.all().forEach((name, array) -> {
      array.setRequiresGradient(true);
      ema.put(name, array.duplicate());
    });
  }

  /** Runs {@code loss} (built from params inside a per-step manager) and applies the update. */
  public float step(Supplier<NDArray> loss) {
    float value;
    try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
      NDArray l = loss.get();
      value = l.getFloat();
      collector.backward(l);
    }
    for (Map.Entry<String, NDArray> entry : params.all().entrySet()) {
      NDArray weight = entry.getValue();
      try (NDArray grad = weight.getGradient()) {
        adam.update(entry.getKey(), weight, grad);
        grad.subi(grad);
      }
      try (NDArray scaled = weight.mul(1 - emaDecay)) {
        ema.get(entry.getKey()).muli(emaDecay).addi(scaled);
      }
    }
    return value;
  }

  /** Copies the averaged weights into the model (call once, after training). */
  public void useAveragedWeights() {
    params.all().forEach((name, array) -> array.set(ema.get(name).toFloatArray()));
  }
}
