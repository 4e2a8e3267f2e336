package dev.inferpipe.consumer.pipeline;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.awt.image.BufferedImage;
import java.util.List;

/** BufferedImage <-> (B, 3, H, W) float tensors in [-1, 1]. */
public final class ImageTensors {
  private ImageTensors() {}

  public static NDArray toTensor(NDManager manager, List<BufferedImage> images) {
    int h = images.get(0).getHeight();
    int w = images.get(0).getWidth();
    float[] data = new float[images.size() * 3 * h * w];
    int plane = h * w;
    for (int b = 0; b < images.size(); b++) {
      BufferedImage image = images.get(b);
      int base = b * 3 * plane;
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          int rgb = image.getRGB(x, y);
          int i = y * w + x;
          data[base + i] = ((rgb >> 16) & 0xFF) / 127.5f - 1f;
          data[base + plane + i] = ((rgb >> 8) & 0xFF) / 127.5f - 1f;
          data[base + 2 * plane + i] = (rgb & 0xFF) / 127.5f - 1f;
        }
      }
    }
    return manager.create(data, new Shape(images.size(), 3, h, w));
  }

  /** Image {@code index} of a (B, 3, H, W) tensor in [-1, 1]; values outside are clipped. */
  public static BufferedImage toImage(float[] data, int index, int h, int w) {
    BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    int plane = h * w;
    int base = index * 3 * plane;
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int i = y * w + x;
        int r = toByte(data[base + i]);
        int g = toByte(data[base + plane + i]);
        int b = toByte(data[base + 2 * plane + i]);
        image.setRGB(x, y, (r << 16) | (g << 8) | b);
      }
    }
    return image;
  }

  private static int toByte(float v) {
    return Math.max(0, Math.min(255, Math.round((v + 1f) * 127.5f)));
  }
}
