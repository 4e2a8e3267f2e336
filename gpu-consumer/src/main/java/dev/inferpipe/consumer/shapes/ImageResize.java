package dev.inferpipe.consumer.shapes;

import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;

/** Bilinear resize to a square; used for VQA inputs at inference and in training alike. */
public final class ImageResize {
  private ImageResize() {}

  public static BufferedImage square(BufferedImage source, int size) {
    if (source.getWidth() == size && source.getHeight() == size
        && source.getType() == BufferedImage.TYPE_INT_RGB) {
      return source;
    }
    BufferedImage target = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = target.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
    g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
    g.drawImage(source, 0, 0, size, size, null);
    g.dispose();
    return target;
  }
}
