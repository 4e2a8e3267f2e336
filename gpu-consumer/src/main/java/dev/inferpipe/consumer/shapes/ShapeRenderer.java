package dev.inferpipe.consumer.shapes;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.util.SplittableRandom;

/**
 * Draws the synthetic data both models are trained on: coloured shapes on a dark background, with
 * random size, position and slight colour jitter. Used by training, evaluation, tests and the demo.
 */
public final class ShapeRenderer {
  public static final Color BACKGROUND = new Color(20, 20, 24);

  private ShapeRenderer() {}

  public static BufferedImage blank(int size) {
    BufferedImage image = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = image.createGraphics();
    g.setColor(BACKGROUND);
    g.fillRect(0, 0, size, size);
    g.dispose();
    return image;
  }

  /** One shape of about {@code extent} pixels centred at (cx, cy). */
  public static void draw(BufferedImage image, ShapeKind kind, ShapeColor color, double cx,
      double cy, double extent, SplittableRandom jitter) {
    Graphics2D g = image.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    g.setColor(jittered(color.rgb(), jitter));
    int x = (int) Math.round(cx - extent / 2);
    int y = (int) Math.round(cy - extent / 2);
    int e = (int) Math.round(extent);
    switch (kind) {
      case CIRCLE -> g.fillOval(x, y, e, e);
      case SQUARE -> g.fillRect(x, y, e, e);
      case TRIANGLE -> g.fillPolygon(new int[] {x + e / 2, x + e, x}, new int[] {y, y + e, y + e}, 3);
    }
    g.dispose();
  }

  /** A single shape somewhere in a {@code size}-pixel image: the diffusion training data. */
  public static BufferedImage single(ShapeKind kind, ShapeColor color, int size,
      SplittableRandom random) {
    BufferedImage image = blank(size);
    double extent = size * (0.35 + 0.3 * random.nextDouble());
    double margin = extent / 2 + 1;
    double cx = margin + random.nextDouble() * (size - 2 * margin);
    double cy = margin + random.nextDouble() * (size - 2 * margin);
    draw(image, kind, color, cx, cy, extent, random);
    return image;
  }

  private static Color jittered(Color base, SplittableRandom random) {
    return new Color(clamp(base.getRed() + random.nextInt(-15, 16)),
        clamp(base.getGreen() + random.nextInt(-15, 16)),
        clamp(base.getBlue() + random.nextInt(-15, 16)));
  }

  private static int clamp(int v) {
    return Math.max(0, Math.min(255, v));
  }
}
