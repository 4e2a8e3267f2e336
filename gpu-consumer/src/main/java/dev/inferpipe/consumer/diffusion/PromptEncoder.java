package dev.inferpipe.consumer.diffusion;

import dev.inferpipe.consumer.shapes.ShapeColor;
import dev.inferpipe.consumer.shapes.ShapeKind;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Turns a prompt into the diffusion model's conditioning: a bag of known words (multi-hot over
 * colours and shapes). Filler words are accepted and ignored; any other word is reported back as
 * unknown, so a user sees that "a purple hexagon" was not understood. The empty prompt encodes
 * to all zeros, which is also the unconditional input used for classifier-free guidance.
 */
public final class PromptEncoder {
  private static final Set<String> FILLER = Set.of(
      "a", "an", "the", "one", "single", "shape", "object", "coloured", "colored", "of", "in", "on",
      "image", "picture", "photo", "drawing", "with", "and");

  private final List<String> vocabulary = new ArrayList<>();

  public PromptEncoder() {
    for (ShapeColor color : ShapeColor.values()) {
      vocabulary.add(color.word());
    }
    for (ShapeKind kind : ShapeKind.values()) {
      vocabulary.add(kind.word());
    }
  }

  public int size() {
    return vocabulary.size();
  }

  public List<String> vocabulary() {
    return List.copyOf(vocabulary);
  }

  /** The encoding of one prompt and the words it could not use. */
  public record Encoded(float[] multiHot, List<String> unknownWords) {}

  public Encoded encode(String prompt) {
    float[] multiHot = new float[vocabulary.size()];
    Set<String> unknown = new LinkedHashSet<>();
    for (String raw : prompt.toLowerCase(Locale.ROOT).split("[^a-z]+")) {
      if (raw.isEmpty() || FILLER.contains(raw)) {
        continue;
      }
      int index = vocabulary.indexOf(raw);
      if (index >= 0) {
        multiHot[index] = 1f;
      } else {
        unknown.add(raw);
      }
    }
    return new Encoded(multiHot, List.copyOf(unknown));
  }

  public int indexOf(String word) {
    return vocabulary.indexOf(word);
  }
}
