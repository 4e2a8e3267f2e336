package dev.inferpipe.consumer.pipeline;

import java.awt.image.BufferedImage;

/** (B, 3, H, W) float samples in [-1, 1] to images: byte = round((v + 1) / 2 * 255). */
final class ImageTensors {
  private ImageTensors() {}

  static BufferedImage toImage(float[] data, int index, int h, int w) {
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
