package dev.inferpipe.consumer.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import java.util.SplittableRandom;

/**
 * The layers the small models are built from, as functions over {@link Params}. DJL has no
 * GroupNorm or SiLU block, so they are written here from NDArray ops. Every op keeps the
 * activation as its first operand: DJL puts an op's result in the first operand's NDManager, and
 * activations live in a per-step manager that is closed after the step.
 */
public final class Layers {
  private Layers() {}

  // ---- declarations ----

  public static void declareConv(Params p, SplittableRandom r, String name, int in, int out, int k) {
    p.normal(name + ".w", r, (long) in * k * k, out, in, k, k);
    p.zeros(name + ".b", out);
  }

  public static void declareDense(Params p, SplittableRandom r, String name, int in, int out) {
    p.normal(name + ".w", r, in, out, in);
    p.zeros(name + ".b", out);
  }

  /** Scale and shift are stored as (1, C, 1, 1) so the forward pass never reshapes a weight. */
  public static void declareGroupNorm(Params p, String name, int channels) {
    p.ones(name + ".gamma", 1, channels, 1, 1);
    p.zeros(name + ".beta", 1, channels, 1, 1);
  }

  /**
   * The image stem both small encoders use: conv -> GroupNorm -> SiLU at strides 1, 2, 2 (so
   * 32 px becomes 8 px), with weights {@code <prefix>conv<i>} and {@code <prefix>norm<i>}.
   */
  public static void declareConvStack(Params p, SplittableRandom r, String prefix, int in,
      int... channels) {
    int previous = in;
    for (int i = 0; i < channels.length; i++) {
      declareConv(p, r, prefix + "conv" + (i + 1), previous, channels[i], 3);
      declareGroupNorm(p, prefix + "norm" + (i + 1), channels[i]);
      previous = channels[i];
    }
  }

  // ---- forward ----

  /** Runs the stem declared by {@link #declareConvStack}; the first stage keeps the resolution. */
  public static NDArray convStack(NDArray x, Params p, String prefix, int stages, int groups) {
    NDArray h = x;
    for (int i = 1; i <= stages; i++) {
      h = silu(groupNorm(conv(h, p, prefix + "conv" + i, i == 1 ? 1 : 2), p, prefix + "norm" + i,
          groups));
    }
    return h;
  }

  public static NDArray conv(NDArray x, Params p, String name, int stride) {
    NDArray w = p.get(name + ".w");
    int pad = (int) (w.getShape().get(2) / 2);
    return Conv2d.conv2d(x, w, p.get(name + ".b"), new Shape(stride, stride), new Shape(pad, pad))
        .singletonOrThrow();
  }

  public static NDArray dense(NDArray x, Params p, String name) {
    return Linear.linear(x, p.get(name + ".w"), p.get(name + ".b")).singletonOrThrow();
  }

  /** GroupNorm over (C/G, H, W) per group, then a learned per-channel scale and shift. */
  public static NDArray groupNorm(NDArray x, Params p, String name, int groups) {
    Shape shape = x.getShape();
    long batch = shape.get(0);
    NDArray grouped = x.reshape(batch, groups, -1);
    NDArray mean = grouped.mean(new int[] {2}, true);
    NDArray centered = grouped.sub(mean);
    NDArray variance = centered.square().mean(new int[] {2}, true);
    NDArray normalized = centered.div(variance.add(1e-5f).sqrt()).reshape(shape);
    return normalized.mul(p.get(name + ".gamma")).add(p.get(name + ".beta"));
  }

  public static NDArray silu(NDArray x) {
    return x.mul(Activation.sigmoid(x));
  }

  /** Nearest-neighbour 2x upsampling of (B, C, H, W). */
  public static NDArray upsample2x(NDArray x) {
    return x.repeat(2, 2).repeat(3, 2);
  }

  /** Sinusoidal embedding of values in [0, 1] (diffusion time), shape (B, dim). */
  public static NDArray sinusoidal(NDArray t, int dim) {
    int half = dim / 2;
    float[] freqs = new float[half];
    for (int i = 0; i < half; i++) {
      freqs[i] = (float) Math.exp(-Math.log(10_000.0) * i / half) * 1000f;
    }
    NDArray angles = t.reshape(-1, 1).mul(t.getManager().create(freqs).reshape(1, half));
    return angles.sin().concat(angles.cos(), 1);
  }
}
