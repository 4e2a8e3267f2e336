package dev.inferpipe.consumer;

import ai.djl.Device;
import dev.inferpipe.consumer.model.DiffusionModel;
import dev.inferpipe.consumer.model.ModelLoader;
import dev.inferpipe.consumer.model.ModelRepository;
import dev.inferpipe.consumer.model.VqaModel;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Base64;
import javax.imageio.ImageIO;

/**
 * The bundled models, loaded once per test JVM (they are read-only at inference), and scenes
 * drawn with Java2D for the VQA model (training drew its scenes with PIL).
 */
public final class TestModels {
  public static final Color RED = new Color(220, 40, 40);
  public static final Color GREEN = new Color(40, 190, 60);
  public static final Color BLUE = new Color(50, 80, 230);
  public static final Color YELLOW = new Color(235, 215, 40);
  public static final Color GREY = new Color(200, 200, 195);

  private static DiffusionModel diffusion;
  private static VqaModel vqa;

  private TestModels() {}

  /** One object: a circle, square or (apex-up) triangle filling a box of side {@code size}. */
  public record Shape(String kind, Color colour, int cx, int cy, int size) {}

  public static ModelRepository bundled() {
    return new ModelRepository("classpath:models/", Path.of("target", "model-cache"), () -> null);
  }

  public static synchronized DiffusionModel diffusion() {
    if (diffusion == null) {
      diffusion = (DiffusionModel) new ModelLoader(Device.cpu())
          .load(bundled().fetch("tiny-shapes-diffusion"));
    }
    return diffusion;
  }

  public static synchronized VqaModel vqa() {
    if (vqa == null) {
      vqa = (VqaModel) new ModelLoader(Device.cpu()).load(bundled().fetch("tiny-shapes-vqa"));
    }
    return vqa;
  }

  /** A PNG scene, base64: anti-aliased shapes on a plain background. */
  public static String scene(int size, Color background, Shape... shapes) {
    BufferedImage image = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = image.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    g.setColor(background);
    g.fillRect(0, 0, size, size);
    g.setStroke(new BasicStroke(1f));
    for (Shape s : shapes) {
      g.setColor(s.colour());
      int x = s.cx() - s.size() / 2;
      int y = s.cy() - s.size() / 2;
      switch (s.kind()) {
        case "circle" -> g.fillOval(x, y, s.size(), s.size());
        case "square" -> g.fillRect(x, y, s.size(), s.size());
        case "triangle" -> g.fillPolygon(new int[] {x + s.size() / 2, x + s.size(), x},
            new int[] {y, y + s.size(), y + s.size()}, 3);
        default -> throw new IllegalArgumentException(s.kind());
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
