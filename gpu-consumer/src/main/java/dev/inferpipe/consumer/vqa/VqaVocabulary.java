package dev.inferpipe.consumer.vqa;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Question words (a bag of words the encoder reads) and answer tokens (what the decoder writes,
 * one per step, ending with {@code <eos>}).
 */
public final class VqaVocabulary {
  public static final String BOS = "<bos>";
  public static final String EOS = "<eos>";
  public static final int MAX_ANSWER_TOKENS = 3;

  private static final List<String> QUESTION_WORDS = List.of(
      "what", "colour", "color", "is", "the", "shape", "object", "where", "there", "a",
      "red", "green", "blue", "yellow", "circle", "square", "triangle");
  private static final List<String> ANSWER_TOKENS = List.of(
      BOS, EOS, "red", "green", "blue", "yellow", "circle", "square", "triangle", "yes", "no",
      "top", "bottom", "left", "right");

  private VqaVocabulary() {}

  public static int questionSize() {
    return QUESTION_WORDS.size();
  }

  public static int answerSize() {
    return ANSWER_TOKENS.size();
  }

  public static String answerToken(int id) {
    return ANSWER_TOKENS.get(id);
  }

  public static int answerId(String token) {
    int id = ANSWER_TOKENS.indexOf(token);
    if (id < 0) {
      throw new IllegalArgumentException("not an answer token: " + token);
    }
    return id;
  }

  /** The question as a bag of known words; "colour" and "color" are the same word. */
  public record EncodedQuestion(float[] multiHot, List<String> unknownWords) {}

  public static EncodedQuestion encodeQuestion(String question) {
    float[] multiHot = new float[QUESTION_WORDS.size()];
    Set<String> unknown = new LinkedHashSet<>();
    for (String word : question.toLowerCase(Locale.ROOT).split("[^a-z]+")) {
      if (word.isEmpty()) {
        continue;
      }
      String normal = word.equals("color") ? "colour" : word.equals("an") ? "a" : word;
      int index = QUESTION_WORDS.indexOf(normal);
      if (index >= 0) {
        multiHot[index] = 1f;
      } else {
        unknown.add(word);
      }
    }
    return new EncodedQuestion(multiHot, List.copyOf(unknown));
  }

  /** Answer words to token ids, ending with EOS, padded with -1 to MAX_ANSWER_TOKENS. */
  public static int[] encodeAnswer(String answer) {
    List<Integer> ids = new ArrayList<>();
    for (String word : answer.split(" ")) {
      ids.add(answerId(word));
    }
    ids.add(answerId(EOS));
    int[] padded = new int[MAX_ANSWER_TOKENS];
    java.util.Arrays.fill(padded, -1);
    for (int i = 0; i < ids.size(); i++) {
      padded[i] = ids.get(i);
    }
    return padded;
  }
}
