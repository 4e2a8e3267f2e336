package dev.inferpipe.consumer.vqa;

import static dev.inferpipe.consumer.nn.Layers.convStack;
import static dev.inferpipe.consumer.nn.Layers.declareConvStack;
import static dev.inferpipe.consumer.nn.Layers.declareDense;
import static dev.inferpipe.consumer.nn.Layers.dense;
import static dev.inferpipe.consumer.nn.Layers.silu;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.inferpipe.consumer.nn.Params;
import java.util.SplittableRandom;

/**
 * A small visual question answering model: a CNN image encoder (32x32 -> 32 channels at 8x8 ->
 * 256 features), a bag-of-words question encoder, a fusion MLP, and an autoregressive decoder
 * that emits one answer token per step from the fused context, the previous token and the step
 * position. Greedy decoding runs the decoder step by step.
 */
public final class TinyVqa {
  public static final int IMAGE_SIZE = 32;
  static final int FEATURES = 256;
  static final int GROUPS = 8;

  private final Params p;

  public TinyVqa(NDManager manager, long seed) {
    this.p = new Params(manager);
    SplittableRandom r = new SplittableRandom(seed);
    declareConvStack(p, r, "img.", 3, 32, 64, 32);
    declareDense(p, r, "img.proj", 32 * 8 * 8, FEATURES);
    declareDense(p, r, "text.proj", VqaVocabulary.questionSize(), FEATURES);
    declareDense(p, r, "fuse.1", 2 * FEATURES, FEATURES);
    declareDense(p, r, "fuse.2", FEATURES, FEATURES);
    int decoderIn = FEATURES + VqaVocabulary.answerSize() + VqaVocabulary.MAX_ANSWER_TOKENS;
    declareDense(p, r, "dec.1", decoderIn, FEATURES);
    declareDense(p, r, "dec.2", FEATURES, VqaVocabulary.answerSize());
  }

  public Params params() {
    return p;
  }

  /** (B, 3, 32, 32) in [-1, 1] -> (B, 256). */
  public NDArray encodeImage(NDArray images) {
    NDArray h = convStack(images, p, "img.", 3, GROUPS);
    return silu(dense(h.reshape(h.getShape().get(0), -1), p, "img.proj"));
  }

  /** (B, Q) bag of question words -> (B, 256). */
  public NDArray encodeText(NDArray questions) {
    return silu(dense(questions, p, "text.proj"));
  }

  public NDArray fuse(NDArray image, NDArray text) {
    return silu(dense(silu(dense(image.concat(text, 1), p, "fuse.1")), p, "fuse.2"));
  }

  /**
   * Logits for the token at each row's step: {@code previous} is the one-hot previous token
   * (B, A) and {@code position} the one-hot step index (B, MAX_ANSWER_TOKENS).
   */
  public NDArray decodeStep(NDArray context, NDArray previous, NDArray position) {
    NDArray in = context.concat(previous, 1).concat(position, 1);
    return dense(silu(dense(in, p, "dec.1")), p, "dec.2");
  }
}
