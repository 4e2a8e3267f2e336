package dev.inferpipe.consumer.vqa;

import dev.inferpipe.consumer.shapes.Scene;
import dev.inferpipe.consumer.shapes.Scene.SceneObject;
import dev.inferpipe.consumer.shapes.ShapeColor;
import dev.inferpipe.consumer.shapes.ShapeKind;
import java.util.SplittableRandom;

/** Asks one question about a scene, with its answer: colour, shape, existence or position. */
public final class QuestionGenerator {
  /** A question and the answer words. */
  public record QA(String question, String answer) {}

  private QuestionGenerator() {}

  public static QA ask(Scene scene, SplittableRandom random) {
    SceneObject target = scene.objects().get(random.nextInt(scene.objects().size()));
    return switch (random.nextInt(4)) {
      case 0 -> new QA("what colour is the " + target.kind().word() + "?", target.color().word());
      case 1 -> new QA("what shape is the " + target.color().word() + " object?", target.kind().word());
      case 2 -> existence(scene, target, random);
      default -> new QA("where is the " + target.color().word() + " " + target.kind().word() + "?",
          target.quadrant().words());
    };
  }

  private static QA existence(Scene scene, SceneObject target, SplittableRandom random) {
    if (random.nextBoolean()) {
      return new QA("is there a " + target.color().word() + " " + target.kind().word() + "?", "yes");
    }
    // A pair that is not in the scene; half the time it shares the colour or shape of one that is.
    while (true) {
      ShapeColor color = ShapeColor.values()[random.nextInt(ShapeColor.values().length)];
      ShapeKind kind = ShapeKind.values()[random.nextInt(ShapeKind.values().length)];
      boolean present = scene.objects().stream()
          .anyMatch(o -> o.color() == color && o.kind() == kind);
      if (!present) {
        return new QA("is there a " + color.word() + " " + kind.word() + "?", "no");
      }
    }
  }
}
