package dev.inferpipe.consumer.eval;

import static dev.inferpipe.consumer.nn.Layers.convStack;
import static dev.inferpipe.consumer.nn.Layers.declareConvStack;
import static dev.inferpipe.consumer.nn.Layers.declareDense;
import static dev.inferpipe.consumer.nn.Layers.dense;
import static dev.inferpipe.consumer.nn.Layers.silu;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.inferpipe.consumer.nn.Params;
import dev.inferpipe.consumer.shapes.ShapeColor;
import dev.inferpipe.consumer.shapes.ShapeKind;
import java.util.SplittableRandom;

/**
 * The judge for generated images: a CNN trained on real rendered shapes that names the colour and
 * the shape of a 32x32 image. Quality of the diffusion model is measured as how often this judge
 * agrees with the prompt.
 */
public final class ShapeClassifier {
  private static final int GROUPS = 8;
  private final Params p;

  public ShapeClassifier(NDManager manager, long seed) {
    this.p = new Params(manager);
    SplittableRandom r = new SplittableRandom(seed);
    declareConvStack(p, r, "", 3, 32, 64, 64);
    declareDense(p, r, "fc1", 64, 64);
    declareDense(p, r, "fc2", 64, ShapeColor.values().length + ShapeKind.values().length);
  }

  public Params params() {
    return p;
  }

  /** Logits (B, colours + shapes): the first block scores colours, the rest shapes. */
  public NDArray logits(NDArray images) {
    NDArray h = convStack(images, p, "", 3, GROUPS);
    // Global average pool; DJL's PyTorch mean takes one axis, so flatten H and W first.
    NDArray pooled = h.reshape(h.getShape().get(0), h.getShape().get(1), -1).mean(new int[] {2});
    return dense(silu(dense(pooled, p, "fc1")), p, "fc2");
  }

  /** The judged colour and shape of one image. */
  public record Verdict(ShapeColor color, ShapeKind kind) {}

  public Verdict[] judge(NDArray images) {
    NDArray logits = logits(images);
    int colors = ShapeColor.values().length;
    long[] color = logits.get(new NDIndex(":, 0:" + colors)).argMax(1).toLongArray();
    long[] kind = logits.get(new NDIndex(":, " + colors + ":")).argMax(1).toLongArray();
    Verdict[] verdicts = new Verdict[color.length];
    for (int i = 0; i < color.length; i++) {
      verdicts[i] = new Verdict(ShapeColor.values()[(int) color[i]], ShapeKind.values()[(int) kind[i]]);
    }
    return verdicts;
  }
}
