package dev.inferpipe.consumer.shapes;

import java.awt.Color;

/** The colours the small models know, with the RGB they are drawn in. */
public enum ShapeColor {
  RED(new Color(220, 40, 40)),
  GREEN(new Color(40, 190, 60)),
  BLUE(new Color(50, 80, 230)),
  YELLOW(new Color(235, 215, 40));

  private final Color rgb;

  ShapeColor(Color rgb) {
    this.rgb = rgb;
  }

  public Color rgb() {
    return rgb;
  }

  public String word() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
