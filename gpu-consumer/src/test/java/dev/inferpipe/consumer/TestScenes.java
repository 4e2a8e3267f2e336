package dev.inferpipe.consumer;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Base64;
import javax.imageio.ImageIO;

/** Scenes drawn with Java2D for the VQA model, whose training scenes were drawn with PIL. */
public final class TestScenes {
  public static final Color RED = new Color(220, 40, 40);
  public static final Color GREEN = new Color(40, 190, 60);
  public static final Color BLUE = new Color(50, 80, 230);
  public static final Color YELLOW = new Color(235, 215, 40);
  public static final Color GREY = new Color(200, 200, 195);

  private TestScenes() {}

  public enum Kind { CIRCLE, SQUARE, TRIANGLE }

  /** One object filling a box of side {@code size} centred at (cx, cy); a triangle points up. */
  public record Shape(Kind kind, Color colour, int cx, int cy, int size) {}

  /** A PNG, base64: anti-aliased shapes on a plain background. */
  public static String png(int size, Color background, Shape... shapes) {
    BufferedImage image = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = image.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    g.setColor(background);
    g.fillRect(0, 0, size, size);
    for (Shape s : shapes) {
      g.setColor(s.colour());
      int x = s.cx() - s.size() / 2;
      int y = s.cy() - s.size() / 2;
      switch (s.kind()) {
        case CIRCLE -> g.fillOval(x, y, s.size(), s.size());
        case SQUARE -> g.fillRect(x, y, s.size(), s.size());
        case TRIANGLE -> g.fillPolygon(new int[] {x + s.size() / 2, x + s.size(), x},
            new int[] {y, y + s.size(), y + s.size()}, 3);
        default -> throw new IllegalArgumentException(s.kind().name());
      }
    }
    g.dispose();
    try (ByteArrayOutputStream out = new ByteArrayOutputStream()) {
      ImageIO.write(image, "png", out);
      return Base64.getEncoder().encodeToString(out.toByteArray());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
