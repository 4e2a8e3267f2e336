package dev.inferpipe.consumer.diffusion;

import static dev.inferpipe.consumer.nn.Layers.conv;
import static dev.inferpipe.consumer.nn.Layers.declareConv;
import static dev.inferpipe.consumer.nn.Layers.declareDense;
import static dev.inferpipe.consumer.nn.Layers.declareGroupNorm;
import static dev.inferpipe.consumer.nn.Layers.dense;
import static dev.inferpipe.consumer.nn.Layers.groupNorm;
import static dev.inferpipe.consumer.nn.Layers.silu;
import static dev.inferpipe.consumer.nn.Layers.upsample2x;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.inferpipe.consumer.nn.Layers;
import dev.inferpipe.consumer.nn.Params;
import java.util.SplittableRandom;

/**
 * A prompt-conditional UNet predicting the noise in a 32x32 RGB image (about 1M parameters).
 * Channels 32 -> 64 -> 128 over resolutions 32 -> 16 -> 8, one residual block per level, two in
 * the middle, skip connections by concatenation. Time (sinusoidal) and prompt (bag of words)
 * embeddings are summed and added inside every residual block.
 */
public final class TinyUNet {
  static final int GROUPS = 8;
  static final int TIME_DIM = 64;
  static final int EMB = 128;

  private final Params p;
  private final int vocabulary;

  public TinyUNet(NDManager manager, int vocabulary, long seed) {
    this.p = new Params(manager);
    this.vocabulary = vocabulary;
    SplittableRandom r = new SplittableRandom(seed);
    declareDense(p, r, "time.1", TIME_DIM, EMB);
    declareDense(p, r, "time.2", EMB, EMB);
    declareDense(p, r, "prompt", vocabulary, EMB);
    declareConv(p, r, "in", 3, 32, 3);
    declareRes(r, "down1", 32, 32);
    declareConv(p, r, "down1.pool", 32, 64, 3);
    declareRes(r, "down2", 64, 64);
    declareConv(p, r, "down2.pool", 64, 128, 3);
    declareRes(r, "mid1", 128, 128);
    declareRes(r, "mid2", 128, 128);
    declareConv(p, r, "up2.conv", 128, 64, 3);
    declareRes(r, "up2", 128, 64);
    declareConv(p, r, "up1.conv", 64, 32, 3);
    declareRes(r, "up1", 64, 32);
    declareGroupNorm(p, "out.norm", 32);
    declareConv(p, r, "out", 32, 3, 3);
  }

  private void declareRes(SplittableRandom r, String name, int in, int out) {
    declareGroupNorm(p, name + ".norm1", in);
    declareConv(p, r, name + ".conv1", in, out, 3);
    declareDense(p, r, name + ".emb", EMB, out);
    declareGroupNorm(p, name + ".norm2", out);
    declareConv(p, r, name + ".conv2", out, out, 3);
    if (in != out) {
      declareConv(p, r, name + ".skip", in, out, 1);
    }
  }

  public Params params() {
    return p;
  }

  public int vocabulary() {
    return vocabulary;
  }

  /**
   * @param x noisy images (B, 3, 32, 32)
   * @param time diffusion time t / T in [0, 1], shape (B)
   * @param prompt multi-hot prompt conditioning (B, V)
   */
  public NDArray predictNoise(NDArray x, NDArray time, NDArray prompt) {
    NDArray temb = dense(silu(dense(Layers.sinusoidal(time, TIME_DIM), p, "time.1")), p, "time.2");
    NDArray emb = silu(temb.add(dense(prompt, p, "prompt")));
    NDArray h0 = conv(x, p, "in", 1);
    NDArray h1 = res(h0, emb, "down1");
    NDArray h2 = res(conv(h1, p, "down1.pool", 2), emb, "down2");
    NDArray h = conv(h2, p, "down2.pool", 2);
    h = res(h, emb, "mid1");
    h = res(h, emb, "mid2");
    h = conv(upsample2x(h), p, "up2.conv", 1);
    h = res(h.concat(h2, 1), emb, "up2");
    h = conv(upsample2x(h), p, "up1.conv", 1);
    h = res(h.concat(h1, 1), emb, "up1");
    return conv(silu(groupNorm(h, p, "out.norm", GROUPS)), p, "out", 1);
  }

  private NDArray res(NDArray x, NDArray emb, String name) {
    NDArray h = conv(silu(groupNorm(x, p, name + ".norm1", GROUPS)), p, name + ".conv1", 1);
    NDArray e = dense(emb, p, name + ".emb");
    h = h.add(e.reshape(e.getShape().get(0), e.getShape().get(1), 1, 1));
    h = conv(silu(groupNorm(h, p, name + ".norm2", GROUPS)), p, name + ".conv2", 1);
    NDArray skip = x.getShape().get(1) == h.getShape().get(1) ? x : conv(x, p, name + ".skip", 1);
    return h.add(skip);
  }
}
