package dev.inferpipe.local.eval;

import dev.inferpipe.local.eval.Shapes.Colour;
import dev.inferpipe.local.eval.Shapes.Kind;
import dev.inferpipe.local.eval.Shapes.Scene;
import dev.inferpipe.local.eval.Shapes.Thing;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * Questions about a scene with their one-word answers, in six families: colour of a shape, shape
 * of a colour, existence, count, left or right, top or bottom. Each family has the training
 * data's template and held-out paraphrases that no training text contains.
 */
public final class EvalQuestions {
  /** A question and its answer word. */
  public record Qa(String question, String answer) {}

  /** {s} shape word, {c} colour word; index 0 of each family is the template. */
  static final List<List<String>> COLOUR_OF = List.of(List.of("what colour is the {s}?"), List.of(
      "which colour does the {s} have?", "tell me the colour of the {s}.",
      "what is the colour of the {s}?", "the {s} is which colour?", "name the colour of the {s}.",
      "can you say what colour the {s} is?"));
  static final List<List<String>> SHAPE_OF = List.of(List.of("what shape is the {c} object?"),
      List.of("which shape is the {c} one?", "what kind of shape is {c}?",
          "tell me the shape of the {c} thing.", "the {c} object is which shape?",
          "name the shape that is {c}.", "what form does the {c} object have?"));
  static final List<List<String>> EXISTS = List.of(List.of("is there a {c} {s}?"), List.of(
      "do you see a {c} {s}?", "does the picture contain a {c} {s}?", "can you find a {c} {s}?",
      "is a {c} {s} shown?", "any {c} {s} here?", "is there any {c} {s} in the image?"));
  static final List<List<String>> COUNT = List.of(List.of("how many shapes are there?"), List.of(
      "how many objects can you see?", "count the shapes.", "what is the number of shapes?",
      "how many things are in the picture?", "tell me how many shapes there are.",
      "number of objects?"));
  static final List<List<String>> LEFT_RIGHT = List.of(
      List.of("is the {c} {s} on the left or the right?"), List.of(
          "which side is the {c} {s} on?", "left or right: where is the {c} {s}?",
          "on which side do you see the {c} {s}?", "is the {c} {s} on the left side or the right side?",
          "the {c} {s} sits on which side?", "where is the {c} {s}, left or right?"));
  static final List<List<String>> TOP_BOTTOM = List.of(
      List.of("is the {c} {s} at the top or the bottom?"), List.of(
          "is the {c} {s} high or low in the picture, top or bottom?",
          "top or bottom: where is the {c} {s}?", "is the {c} {s} near the top or near the bottom?",
          "where is the {c} {s}, top or bottom?", "the {c} {s} is at the top or at the bottom?",
          "which end holds the {c} {s}, top or bottom?"));
  static final List<List<List<String>>> FAMILIES = List.of(COLOUR_OF, SHAPE_OF, EXISTS, COUNT,
      LEFT_RIGHT, TOP_BOTTOM);

  private EvalQuestions() {}

  /** Every held-out phrasing (the paraphrase measure needs at least 30). */
  public static List<String> paraphrases() {
    return FAMILIES.stream().flatMap(f -> f.get(1).stream()).toList();
  }

  /**
   * One question about {@code scene} whose answer is unambiguous there (a colour or shape asked
   * about is unique; a side is asked only when the object is clear of the middle).
   */
  public static Optional<Qa> ask(Scene scene, int size, boolean paraphrase, SplittableRandom random) {
    List<Thing> things = scene.things();
    Thing target = things.get(random.nextInt(things.size()));
    int family = random.nextInt(FAMILIES.size());
    List<String> phrasings = FAMILIES.get(family).get(paraphrase ? 1 : 0);
    String phrasing = phrasings.get(random.nextInt(phrasings.size()));
    String answer;
    switch (family) {
      case 0 -> {
        if (things.stream().filter(t -> t.kind() == target.kind()).count() > 1) {
          return Optional.empty();
        }
        answer = target.colour().word();
      }
      case 1 -> {
        if (things.stream().filter(t -> t.colour() == target.colour()).count() > 1) {
          return Optional.empty();
        }
        answer = target.kind().word();
      }
      case 2 -> {
        if (random.nextBoolean()) {
          answer = "yes";
        } else {
          Colour c = Colour.values()[random.nextInt(4)];
          Kind k = Kind.values()[random.nextInt(3)];
          if (things.stream().anyMatch(t -> t.colour() == c && t.kind() == k)) {
            return Optional.empty();
          }
          return Optional.of(new Qa(fill(phrasing, c, k), "no"));
        }
      }
      case 3 -> answer = List.of("one", "two", "three").get(things.size() - 1);
      case 4 -> {
        double x = target.cx() / size;
        if (Math.abs(x - 0.5) < 0.1) {
          return Optional.empty();
        }
        answer = x < 0.5 ? "left" : "right";
      }
      default -> {
        double y = target.cy() / size;
        if (Math.abs(y - 0.5) < 0.1) {
          return Optional.empty();
        }
        answer = y < 0.5 ? "top" : "bottom";
      }
    }
    return Optional.of(new Qa(fill(phrasing, target.colour(), target.kind()), answer));
  }

  private static String fill(String phrasing, Colour colour, Kind kind) {
    return phrasing.replace("{c}", colour.word()).replace("{s}", kind.word());
  }
}
