package dev.inferpipe.local;

import dev.inferpipe.consumer.shapes.Scene;
import dev.inferpipe.consumer.shapes.Scene.Quadrant;
import dev.inferpipe.consumer.shapes.Scene.SceneObject;
import dev.inferpipe.consumer.shapes.ShapeColor;
import dev.inferpipe.consumer.shapes.ShapeKind;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Base64;
import java.util.List;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;

/** The scene the soak's VQA jobs ask about (drawn once). */
final class SoakScene {
  static final String BASE64 = draw();

  private SoakScene() {}

  private static String draw() {
    Scene scene = Scene.draw(List.of(
        new SceneObject(ShapeKind.CIRCLE, ShapeColor.BLUE, Quadrant.TOP_RIGHT),
        new SceneObject(ShapeKind.TRIANGLE, ShapeColor.RED, Quadrant.BOTTOM_LEFT)),
        64, new SplittableRandom(7));
    try (ByteArrayOutputStream png = new ByteArrayOutputStream()) {
      ImageIO.write(scene.image(), "png", png);
      return Base64.getEncoder().encodeToString(png.toByteArray());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
