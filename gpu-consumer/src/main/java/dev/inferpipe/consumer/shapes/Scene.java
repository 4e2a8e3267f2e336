package dev.inferpipe.consumer.shapes;

import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A VQA scene: 2 or 3 objects, each a different colour and a different shape, each in its own
 * quadrant, so every question the generator asks has exactly one right answer.
 */
public record Scene(List<SceneObject> objects, BufferedImage image) {

  /** One object and the quadrant it sits in. */
  public record SceneObject(ShapeKind kind, ShapeColor color, Quadrant quadrant) {}

  /** Where an object is; the answer to "where is ..." is {@link #words()}. */
  public enum Quadrant {
    TOP_LEFT, TOP_RIGHT, BOTTOM_LEFT, BOTTOM_RIGHT;

    public String words() {
      return name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ');
    }

    boolean right() {
      return this == TOP_RIGHT || this == BOTTOM_RIGHT;
    }

    boolean bottom() {
      return this == BOTTOM_LEFT || this == BOTTOM_RIGHT;
    }
  }

  /** Draws a random scene at {@code size} pixels. */
  public static Scene random(SplittableRandom random, int size) {
    int count = 2 + random.nextInt(2);
    List<ShapeKind> kinds = shuffled(List.of(ShapeKind.values()), random);
    List<ShapeColor> colors = shuffled(List.of(ShapeColor.values()), random);
    List<Quadrant> quadrants = shuffled(List.of(Quadrant.values()), random);
    List<SceneObject> objects = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      objects.add(new SceneObject(kinds.get(i), colors.get(i), quadrants.get(i)));
    }
    return draw(objects, size, random);
  }

  /** Draws the given objects (e.g. a scene a test or the demo chooses). */
  public static Scene draw(List<SceneObject> objects, int size, SplittableRandom random) {
    BufferedImage image = ShapeRenderer.blank(size);
    double half = size / 2.0;
    for (SceneObject object : objects) {
      double extent = half * (0.5 + 0.3 * random.nextDouble());
      double slack = half - extent - 2;
      double cx = (object.quadrant().right() ? half : 0) + extent / 2 + 1 + random.nextDouble() * slack;
      double cy = (object.quadrant().bottom() ? half : 0) + extent / 2 + 1 + random.nextDouble() * slack;
      ShapeRenderer.draw(image, object.kind(), object.color(), cx, cy, extent, random);
    }
    return new Scene(List.copyOf(objects), image);
  }

  private static <T> List<T> shuffled(List<T> items, SplittableRandom random) {
    List<T> copy = new ArrayList<>(items);
    for (int i = copy.size() - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      T tmp = copy.get(i);
      copy.set(i, copy.get(j));
      copy.set(j, tmp);
    }
    return copy;
  }
}
