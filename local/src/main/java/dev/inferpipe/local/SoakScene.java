package dev.inferpipe.local;

import dev.inferpipe.local.eval.Java2dRenderer;
import dev.inferpipe.local.eval.Shapes.Colour;
import dev.inferpipe.local.eval.Shapes.Kind;
import dev.inferpipe.local.eval.Shapes.Scene;
import dev.inferpipe.local.eval.Shapes.Thing;
import java.awt.Color;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Base64;
import java.util.List;
import javax.imageio.ImageIO;

/** The scene the soak's VQA jobs ask about (drawn once). */
final class SoakScene {
  static final String BASE64 = draw();

  private SoakScene() {}

  private static String draw() {
    Scene scene = Java2dRenderer.scene(96, new Color(200, 200, 190), List.of(
        new Thing(Colour.BLUE, Kind.CIRCLE, 70, 24, 30),
        new Thing(Colour.RED, Kind.TRIANGLE, 26, 68, 34)));
    try (ByteArrayOutputStream png = new ByteArrayOutputStream()) {
      ImageIO.write(scene.image(), "png", png);
      return Base64.getEncoder().encodeToString(png.toByteArray());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
