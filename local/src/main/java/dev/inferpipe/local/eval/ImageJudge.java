package dev.inferpipe.local.eval;

import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ModelNotFoundException;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.training.ParameterStore;
import ai.djl.translate.NoopTranslator;
import dev.inferpipe.local.eval.Shapes.Colour;
import dev.inferpipe.local.eval.Shapes.Kind;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The judge: a small CNN (trained in models/ on PIL renders) that names the colour and shape of
 * the one object in a 32x32 image. ONNX, run by DJL's ONNX Runtime engine. Its own accuracy is
 * measured on this evaluation's Java2D renders.
 */
public final class ImageJudge implements AutoCloseable {
  /** What the judge saw. */
  public record Verdict(Colour colour, Kind kind) {}

  private final ZooModel<NDList, NDList> model;
  private final NDManager manager;

  private ImageJudge(ZooModel<NDList, NDList> model) {
    this.model = model;
    this.manager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
  }

  /** @param dir a directory holding the judge's {@code model.onnx} */
  public static ImageJudge load(Path dir) throws IOException {
    try {
      return new ImageJudge(Criteria.builder().setTypes(NDList.class, NDList.class)
          .optModelPath(dir).optModelName("model").optEngine("OnnxRuntime")
          .optTranslator(new NoopTranslator()).build().loadModel());
    } catch (ModelNotFoundException | MalformedModelException e) {
      throw new IOException("cannot load the judge from " + dir + ": " + e.getMessage(), e);
    }
  }

  public Verdict judge(BufferedImage image) {
    if (image.getWidth() != 32 || image.getHeight() != 32) {
      throw new IllegalArgumentException("the judge reads 32x32 images");
    }
    float[] data = new float[3 * 32 * 32];
    for (int y = 0; y < 32; y++) {
      for (int x = 0; x < 32; x++) {
        int rgb = image.getRGB(x, y);
        data[y * 32 + x] = ((rgb >> 16) & 0xFF) / 127.5f - 1f;
        data[1024 + y * 32 + x] = ((rgb >> 8) & 0xFF) / 127.5f - 1f;
        data[2048 + y * 32 + x] = (rgb & 0xFF) / 127.5f - 1f;
      }
    }
    try (NDManager m = manager.newSubManager()) {
      NDArray input = m.create(data, new Shape(1, 3, 32, 32));
      input.setName("image");
      NDList out = model.getBlock().forward(new ParameterStore(m, false), new NDList(input), false);
      float[] logits = out.get(0).toFloatArray();
      int best = 0;
      for (int i = 1; i < logits.length; i++) {
        if (logits[i] > logits[best]) {
          best = i;
        }
      }
      return new Verdict(Colour.values()[best / 3], Kind.values()[best % 3]);
    }
  }

  @Override
  public void close() {
    model.close();
    manager.close();
  }
}
