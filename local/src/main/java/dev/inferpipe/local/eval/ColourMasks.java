package dev.inferpipe.local.eval;

import dev.inferpipe.local.eval.Shapes.Colour;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.util.EnumMap;
import java.util.Map;

/**
 * Which pixels of a generated image are which colour: a pixel belongs to the nearest of the four
 * colours when it is nearer to it than to the dark background and within a fixed distance. Gives
 * per colour the pixel count and the centroid, for the two-object and position measures.
 */
public final class ColourMasks {
  /** Euclidean RGB distance within which a pixel counts as the colour. */
  static final double MAX_DISTANCE = 90;

  /** Pixels of one colour: how many, and their centre as fractions of the image. */
  public record Blob(int pixels, double cx, double cy) {}

  private ColourMasks() {}

  public static Map<Colour, Blob> of(BufferedImage image) {
    int w = image.getWidth();
    int h = image.getHeight();
    Map<Colour, long[]> sums = new EnumMap<>(Colour.class);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int rgb = image.getRGB(x, y);
        Colour nearest = null;
        double best = distance(rgb, Java2dRenderer.DARK);
        for (Colour colour : Colour.values()) {
          double d = distance(rgb, colour.rgb());
          if (d < best && d < MAX_DISTANCE) {
            best = d;
            nearest = colour;
          }
        }
        if (nearest != null) {
          long[] sum = sums.computeIfAbsent(nearest, c -> new long[3]);
          sum[0]++;
          sum[1] += x;
          sum[2] += y;
        }
      }
    }
    Map<Colour, Blob> blobs = new EnumMap<>(Colour.class);
    sums.forEach((colour, sum) -> blobs.put(colour, new Blob((int) sum[0],
        (sum[1] / (double) sum[0] + 0.5) / w, (sum[2] / (double) sum[0] + 0.5) / h)));
    return blobs;
  }

  private static double distance(int rgb, Color colour) {
    int dr = ((rgb >> 16) & 0xFF) - colour.getRed();
    int dg = ((rgb >> 8) & 0xFF) - colour.getGreen();
    int db = (rgb & 0xFF) - colour.getBlue();
    return Math.sqrt(dr * dr + dg * dg + db * db);
  }
}
