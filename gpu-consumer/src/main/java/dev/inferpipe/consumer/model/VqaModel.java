package dev.inferpipe.consumer.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.awt.image.BufferedImage;
import java.util.List;

/**
 * A visual question answering model as the vqa pipeline drives it: image preprocessing, one
 * encoder call over image and question, then greedy decoding one token per step.
 */
public interface VqaModel extends LoadedModel {
  /** The manager per-job managers are opened under (the model's device). */
  NDManager workspace();

  /** The {@code vqa.image.resize} span: to the model's input size. */
  BufferedImage resize(BufferedImage image);

  /** The {@code vqa.image.normalize} span: pixels to the model's input tensor, (1, 3, H, W). */
  NDArray normalize(NDManager m, BufferedImage resized);

  /** The {@code vqa.model.encode_text} span: the question as model inputs. */
  Question question(NDManager m, String question);

  /** The {@code vqa.model.encode} span: what the decoder attends to. */
  NDArray encode(NDArray pixels, Question question);

  /** The token decoding starts from. */
  int startToken();

  /** The token that ends an answer. */
  int endToken();

  /** The most tokens the model may generate. */
  int maxNewTokens();

  /** The next token's probabilities after {@code prefix} (which starts with the start token). */
  float[] nextToken(NDManager m, NDArray context, List<Integer> prefix);

  /** One token as text, for the {@code vqa.token} span attribute. */
  String tokenText(int token);

  /** The answer text for the generated tokens (special tokens skipped). */
  String answer(List<Integer> tokens);

  /**
   * @param inputs the question tensors, in the model's own order
   * @param unknownWords words (or tokens) the model does not know: a count, never the text
   */
  record Question(List<NDArray> inputs, int unknownWords) {}
}
