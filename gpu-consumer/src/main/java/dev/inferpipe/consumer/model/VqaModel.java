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

  /**
   * The {@code vqa.model.encode} span, for a batch of jobs: what each job's decoder attends to,
   * (B, S, D), from each job's pixels (1, 3, H, W) and question.
   */
  NDArray encode(List<NDArray> pixels, List<Question> questions);

  /** The token decoding starts from. */
  int startToken();

  /** The token that ends an answer. */
  int endToken();

  /** The most tokens the model may generate. */
  int maxNewTokens();

  /**
   * One decoder call for a batch: each row's next-token probabilities after its own prefix
   * (which starts with the start token); prefixes may differ in length.
   *
   * @param contexts the rows' encoder states, (B, S, D)
   */
  float[][] nextTokens(NDManager m, NDArray contexts, List<List<Integer>> prefixes);

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
