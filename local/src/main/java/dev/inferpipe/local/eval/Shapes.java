package dev.inferpipe.local.eval;

import java.awt.Color;
import java.util.List;
import java.util.Locale;

/**
 * The world the bundled models know, as the evaluation draws it: four colours, three shapes.
 * The same names and RGB values as the training data's (models/), drawn by a different renderer.
 */
public final class Shapes {
  private Shapes() {}

  /** A colour word and the RGB it is drawn in. */
  public enum Colour {
    RED(new Color(220, 40, 40)),
    GREEN(new Color(40, 190, 60)),
    BLUE(new Color(50, 80, 230)),
    YELLOW(new Color(235, 215, 40));

    private final Color rgb;

    Colour(Color rgb) {
      this.rgb = rgb;
    }

    public Color rgb() {
      return rgb;
    }

    public String word() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** A shape word; a triangle points up and fills its box. */
  public enum Kind {
    CIRCLE,
    SQUARE,
    TRIANGLE;

    public String word() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** Where an object's centre is: a half of the image, or its middle third both ways. */
  public enum Place {
    LEFT,
    RIGHT,
    TOP,
    BOTTOM,
    CENTRE;

    public String word() {
      return name().toLowerCase(Locale.ROOT);
    }

    /** Whether a centre at (x, y), as fractions of the image, is in this place. */
    public boolean holds(double x, double y) {
      return switch (this) {
        case LEFT -> x < 0.5;
        case RIGHT -> x >= 0.5;
        case TOP -> y < 0.5;
        case BOTTOM -> y >= 0.5;
        case CENTRE -> x >= 1 / 3.0 && x < 2 / 3.0 && y >= 1 / 3.0 && y < 2 / 3.0;
      };
    }
  }

  /** One drawn object: colour, shape, centre and extent in pixels. */
  public record Thing(Colour colour, Kind kind, double cx, double cy, double extent) {}

  /** A drawn image, what is in it, and its background's kind (dark, light, gradient, noise, plain). */
  public record Scene(java.awt.image.BufferedImage image, List<Thing> things, String background) {}
}
