package dev.inferpipe.consumer.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.inferpipe.consumer.eval.ShapeClassifier;
import dev.inferpipe.consumer.shapes.ImageTensors;
import dev.inferpipe.consumer.shapes.ShapeColor;
import dev.inferpipe.consumer.shapes.ShapeKind;
import dev.inferpipe.consumer.shapes.ShapeRenderer;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Trains the {@link ShapeClassifier} judge on real rendered shapes and reports held-out accuracy. */
public final class ClassifierTraining {
  private ClassifierTraining() {}

  public static void run(TrainOptions options, NDManager root) throws Exception {
    ShapeClassifier classifier = new ShapeClassifier(root, options.seed());
    SplittableRandom random = new SplittableRandom(options.seed());
    TrainingLoop.run(classifier.params(), options.steps(), options.learningRate(), 0.99f,
        batch -> loss(batch, classifier, random, options.batch()));
    double accuracy = heldOutAccuracy(root, classifier, new SplittableRandom(options.seed() + 1), 2000);
    System.out.printf("held-out accuracy (colour and shape both right) on 2000 real images: %.4f%n",
        accuracy);
    TrainingLoop.save(classifier.params(), options.out());
  }

  /** Fraction of freshly rendered images whose colour and shape are both judged right. */
  public static double heldOutAccuracy(NDManager root, ShapeClassifier classifier,
      SplittableRandom random, int count) {
    int right = 0;
    for (int done = 0; done < count; done += 200) {
      try (NDManager m = root.newSubManager()) {
        List<BufferedImage> images = new ArrayList<>();
        List<ShapeColor> colors = new ArrayList<>();
        List<ShapeKind> kinds = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
          ShapeColor color = ShapeColor.values()[random.nextInt(ShapeColor.values().length)];
          ShapeKind kind = ShapeKind.values()[random.nextInt(ShapeKind.values().length)];
          images.add(ShapeRenderer.single(kind, color, 32, random));
          colors.add(color);
          kinds.add(kind);
        }
        ShapeClassifier.Verdict[] verdicts = classifier.judge(ImageTensors.toTensor(m, images));
        for (int i = 0; i < verdicts.length; i++) {
          if (verdicts[i].color() == colors.get(i) && verdicts[i].kind() == kinds.get(i)) {
            right++;
          }
        }
      }
    }
    return (double) right / count;
  }

  private static NDArray loss(NDManager m, ShapeClassifier classifier, SplittableRandom random,
      int batch) {
    int colors = ShapeColor.values().length;
    int classes = colors + ShapeKind.values().length;
    List<BufferedImage> images = new ArrayList<>();
    float[] targets = new float[batch * classes];
    for (int b = 0; b < batch; b++) {
      int color = random.nextInt(colors);
      int kind = random.nextInt(ShapeKind.values().length);
      images.add(ShapeRenderer.single(ShapeKind.values()[kind], ShapeColor.values()[color], 32, random));
      targets[b * classes + color] = 1f;
      targets[b * classes + colors + kind] = 1f;
    }
    NDArray logits = classifier.logits(ImageTensors.toTensor(m, images));
    NDArray colorLogits = logits.get(":, 0:" + colors);
    NDArray kindLogits = logits.get(":, " + colors + ":");
    NDArray t = m.create(targets, new Shape(batch, classes));
    NDArray colorNll = colorLogits.logSoftmax(1).mul(t.get(":, 0:" + colors)).sum().neg();
    NDArray kindNll = kindLogits.logSoftmax(1).mul(t.get(":, " + colors + ":")).sum().neg();
    return colorNll.add(kindNll).div(batch);
  }
}
