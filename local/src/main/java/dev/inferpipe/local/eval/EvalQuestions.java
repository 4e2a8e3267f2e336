package dev.inferpipe.local.eval;

import dev.inferpipe.local.eval.Shapes.Colour;
import dev.inferpipe.local.eval.Shapes.Kind;
import dev.inferpipe.local.eval.Shapes.Scene;
import dev.inferpipe.local.eval.Shapes.Thing;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * Questions about a scene with their one-word answers, from {@link World}'s question families
 * (colour, shape, exists, count, count_shape, count_colour, horizontal, vertical): the training
 * templates, or the held-out phrasings no training text contains. A question is only asked when
 * the scene makes its answer unambiguous.
 */
public final class EvalQuestions {
  /** A question, its answer word, and its family (e.g. {@code count_colour}). */
  public record Qa(String family, String question, String answer) {}

  private static final List<String> COUNTS = List.of("one", "two", "three");

  private final Map<String, List<String>> templates;
  private final List<String> families;

  public EvalQuestions(World world, boolean heldOut) {
    this.templates = world.questionTemplates(heldOut ? "held_out" : "train");
    this.families = List.copyOf(templates.keySet());
  }

  public Optional<Qa> ask(Scene scene, int size, SplittableRandom random) {
    List<Thing> things = scene.things();
    Thing target = things.get(random.nextInt(things.size()));
    String family = families.get(random.nextInt(families.size()));
    String template = EvalPrompts.pick(templates.get(family), random);
    Colour colour = target.colour();
    Kind kind = target.kind();
    String answer;
    switch (family) {
      case "colour" -> {
        if (things.stream().filter(t -> t.kind() == kind).count() > 1) {
          return Optional.empty();
        }
        answer = colour.word();
      }
      case "shape" -> {
        if (things.stream().filter(t -> t.colour() == colour).count() > 1) {
          return Optional.empty();
        }
        answer = kind.word();
      }
      case "exists" -> {
        if (random.nextBoolean()) {
          answer = "yes";
        } else {
          Colour c = Colour.values()[random.nextInt(4)];
          Kind k = Kind.values()[random.nextInt(3)];
          if (things.stream().anyMatch(t -> t.colour() == c && t.kind() == k)) {
            return Optional.empty();
          }
          return Optional.of(new Qa(family, fill(template, c, k), "no"));
        }
      }
      case "count" -> answer = COUNTS.get(things.size() - 1);
      case "count_shape" -> answer = COUNTS.get((int) things.stream().filter(t -> t.kind() == kind).count() - 1);
      case "count_colour" -> answer = COUNTS.get(
          (int) things.stream().filter(t -> t.colour() == colour).count() - 1);
      case "horizontal" -> {
        double x = target.cx() / size;
        if (Math.abs(x - 0.5) < 0.1) {
          return Optional.empty();
        }
        answer = x < 0.5 ? "left" : "right";
      }
      case "vertical" -> {
        double y = target.cy() / size;
        if (Math.abs(y - 0.5) < 0.1) {
          return Optional.empty();
        }
        answer = y < 0.5 ? "top" : "bottom";
      }
      default -> {
        return Optional.empty();
      }
    }
    return Optional.of(new Qa(family, fill(template, colour, kind), answer));
  }

  /** How many phrasings this set holds. */
  public int phrasings() {
    return templates.values().stream().mapToInt(List::size).sum();
  }

  private static String fill(String template, Colour colour, Kind kind) {
    return template.replace("{colour}", colour.word()).replace("{shapes}", kind.word() + "s")
        .replace("{shape}", kind.word());
  }
}
