package dev.inferpipe.local.eval;

import dev.inferpipe.local.eval.Shapes.Colour;
import dev.inferpipe.local.eval.Shapes.Kind;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The evaluation's prompts. Templates are the training data's own form ({@code a red circle});
 * paraphrases use synonyms and phrasings the training text never contains (models/ keeps its
 * held-out list; the two are checked against each other in EvalPromptsTest).
 */
public final class EvalPrompts {
  /** A prompt and the one object it asks for. */
  public record Prompt(String text, Colour colour, Kind kind) {}

  /** Synonyms never in training text. */
  static final Map<Colour, List<String>> COLOUR_SYNONYMS = Map.of(
      Colour.RED, List.of("scarlet", "crimson"),
      Colour.GREEN, List.of("emerald", "lime"),
      Colour.BLUE, List.of("azure", "navy"),
      Colour.YELLOW, List.of("golden", "lemon"));
  static final Map<Kind, List<String>> SHAPE_SYNONYMS = Map.of(
      Kind.CIRCLE, List.of("ball", "disc"),
      Kind.SQUARE, List.of("box", "block"),
      Kind.TRIANGLE, List.of("wedge", "pyramid"));
  /** Phrasings never in training text: {c} colour word, {s} shape word. */
  static final List<String> PHRASINGS = List.of("a {s} that is {c}", "one {c} {s}",
      "a {c} coloured {s}", "a {s} in {c}", "a single {c} {s}");

  private EvalPrompts() {}

  public static List<Prompt> templates() {
    List<Prompt> prompts = new ArrayList<>();
    for (Colour colour : Colour.values()) {
      for (Kind kind : Kind.values()) {
        prompts.add(new Prompt("a " + colour.word() + " " + kind.word(), colour, kind));
      }
    }
    return prompts;
  }

  /** Held-out synonyms in the template form, and template words in held-out phrasings. */
  public static List<Prompt> paraphrases() {
    List<Prompt> prompts = new ArrayList<>();
    for (Colour colour : Colour.values()) {
      for (Kind kind : Kind.values()) {
        for (String c : COLOUR_SYNONYMS.get(colour)) {
          for (String s : SHAPE_SYNONYMS.get(kind)) {
            prompts.add(new Prompt("a " + c + " " + s, colour, kind));
          }
        }
        for (String phrasing : PHRASINGS) {
          prompts.add(new Prompt(phrasing.replace("{c}", colour.word()).replace("{s}", kind.word()),
              colour, kind));
        }
      }
    }
    java.util.Collections.shuffle(prompts, new java.util.Random(7));
    return prompts;
  }
}
