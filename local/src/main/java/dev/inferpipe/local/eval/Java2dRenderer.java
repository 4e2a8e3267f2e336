package dev.inferpipe.local.eval;

import dev.inferpipe.local.eval.Shapes.Colour;
import dev.inferpipe.local.eval.Shapes.Kind;
import dev.inferpipe.local.eval.Shapes.Scene;
import dev.inferpipe.local.eval.Shapes.Thing;
import java.awt.Color;
import java.awt.GradientPaint;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Path2D;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The evaluation's own renderer: Java2D with anti-aliased geometry, where training draws with
 * PIL in Python. Scenes use free placement, objects of 16 to 96 px, varied backgrounds and
 * partial overlap, on canvases of other sizes than the models' (the preprocessor resizes them).
 */
public final class Java2dRenderer {
  /** The txt2img background, as in training. */
  public static final Color DARK = new Color(20, 20, 24);

  private Java2dRenderer() {}

  /** One object on the dark background, as txt2img makes them: the judge's test images. */
  public static Scene single(Colour colour, Kind kind, int size, SplittableRandom random) {
    BufferedImage image = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = graphics(image);
    g.setColor(DARK);
    g.fillRect(0, 0, size, size);
    double extent = size * (0.30 + 0.25 * random.nextDouble());
    double cx = extent / 2 + random.nextDouble() * (size - extent);
    double cy = extent / 2 + random.nextDouble() * (size - extent);
    Thing thing = new Thing(colour, kind, cx, cy, extent);
    draw(g, thing, random);
    g.dispose();
    return new Scene(image, List.of(thing), "dark");
  }

  /** A fixed scene (the demo's, the soak's): these objects on a plain background. */
  public static Scene scene(int size, Color background, List<Thing> things) {
    BufferedImage image = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = graphics(image);
    g.setColor(background);
    g.fillRect(0, 0, size, size);
    SplittableRandom fixed = new SplittableRandom(0);
    for (Thing thing : things) {
      draw(g, thing, fixed);
    }
    g.dispose();
    return new Scene(image, List.copyOf(things), "plain");
  }

  /**
   * A VQA scene: 1 to 3 objects of 16 to 96 px (never two of the same colour and shape), on a
   * 80 to 200 px canvas with a dark, light, gradient or noisy background; objects may overlap
   * a little (at most a quarter of the smaller one's extent).
   */
  public static Scene vqa(SplittableRandom random) {
    int size = 80 + random.nextInt(121);
    BufferedImage image = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = graphics(image);
    String background = background(g, image, random);
    int count = 1 + random.nextInt(3);
    List<Thing> things = new ArrayList<>();
    for (int attempt = 0; things.size() < count && attempt < 200; attempt++) {
      Colour colour = Colour.values()[random.nextInt(Colour.values().length)];
      Kind kind = Kind.values()[random.nextInt(Kind.values().length)];
      double extent = Math.min(size * 0.6, 16 + random.nextDouble() * 80);
      double cx = extent / 2 + random.nextDouble() * (size - extent);
      double cy = extent / 2 + random.nextDouble() * (size - extent);
      Thing candidate = new Thing(colour, kind, cx, cy, extent);
      boolean clash = things.stream().anyMatch(t -> (t.colour() == colour && t.kind() == kind)
          || overlap(t, candidate) > 0.25 * Math.min(t.extent(), candidate.extent()));
      if (!clash) {
        things.add(candidate);
      }
    }
    for (Thing thing : things) {
      draw(g, thing, random);
    }
    g.dispose();
    return new Scene(image, List.copyOf(things), background);
  }

  /** How far two objects' boxes overlap along the axis where they overlap least, in pixels. */
  private static double overlap(Thing a, Thing b) {
    double ox = (a.extent() + b.extent()) / 2 - Math.abs(a.cx() - b.cx());
    double oy = (a.extent() + b.extent()) / 2 - Math.abs(a.cy() - b.cy());
    return Math.max(0, Math.min(ox, oy));
  }

  /** Paints one of four backgrounds and returns its kind. */
  private static String background(Graphics2D g, BufferedImage image, SplittableRandom random) {
    int size = image.getWidth();
    switch (random.nextInt(4)) {
      case 0 -> {
        g.setColor(new Color(10 + random.nextInt(40), 10 + random.nextInt(40), 10 + random.nextInt(40)));
        g.fillRect(0, 0, size, size);
        return "dark";
      }
      case 1 -> {
        g.setColor(new Color(190 + random.nextInt(60), 190 + random.nextInt(60), 190 + random.nextInt(60)));
        g.fillRect(0, 0, size, size);
        return "light";
      }
      case 2 -> {
        // Each channel of each end drawn apart, so the gradient is tinted, not grey.
        g.setPaint(new GradientPaint(0, 0, new Color(random.nextInt(80), random.nextInt(80),
            random.nextInt(80)), size, size, new Color(120 + random.nextInt(100),
            120 + random.nextInt(100), 120 + random.nextInt(100))));
        g.fillRect(0, 0, size, size);
        return "gradient";
      }
      default -> {
        int base = 40 + random.nextInt(120);
        for (int y = 0; y < size; y++) {
          for (int x = 0; x < size; x++) {
            int v = Math.max(0, Math.min(255, base + random.nextInt(-25, 26)));
            image.setRGB(x, y, (v << 16) | (v << 8) | v);
          }
        }
        return "noise";
      }
    }
  }

  private static Graphics2D graphics(BufferedImage image) {
    Graphics2D g = image.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    g.setRenderingHint(RenderingHints.KEY_STROKE_CONTROL, RenderingHints.VALUE_STROKE_PURE);
    g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
    return g;
  }

  private static void draw(Graphics2D g, Thing thing, SplittableRandom random) {
    Color base = thing.colour().rgb();
    g.setColor(new Color(jitter(base.getRed(), random), jitter(base.getGreen(), random),
        jitter(base.getBlue(), random)));
    double x = thing.cx() - thing.extent() / 2;
    double y = thing.cy() - thing.extent() / 2;
    double e = thing.extent();
    switch (thing.kind()) {
      case CIRCLE -> g.fill(new Ellipse2D.Double(x, y, e, e));
      case SQUARE -> g.fill(new Rectangle2D.Double(x, y, e, e));
      case TRIANGLE -> {
        Path2D.Double triangle = new Path2D.Double();
        triangle.moveTo(x + e / 2, y);
        triangle.lineTo(x + e, y + e);
        triangle.lineTo(x, y + e);
        triangle.closePath();
        g.fill(triangle);
      }
    }
  }

  private static int jitter(int value, SplittableRandom random) {
    return Math.max(0, Math.min(255, value + random.nextInt(-12, 13)));
  }
}
