package dev.inferpipe.consumer.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.inferpipe.consumer.shapes.ImageResize;
import dev.inferpipe.consumer.shapes.ImageTensors;
import dev.inferpipe.consumer.shapes.Scene;
import dev.inferpipe.consumer.vqa.QuestionGenerator;
import dev.inferpipe.consumer.vqa.TinyVqa;
import dev.inferpipe.consumer.vqa.VqaVocabulary;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Trains {@link TinyVqa} with teacher forcing: every answer step is a cross-entropy term on the
 * next token given the true previous one. Scenes are drawn at 32, 64 or 96 pixels and resized to
 * 32 with the same resize the pipeline uses, so larger user images look like training images.
 */
public final class VqaTraining {
  private VqaTraining() {}

  public static void run(TrainOptions options, NDManager root) throws Exception {
    TinyVqa model = new TinyVqa(root, options.seed());
    System.out.printf("tiny-shapes-vqa: %,d parameters, %d steps of batch %d%n",
        model.params().count(), options.steps(), options.batch());
    SplittableRandom random = new SplittableRandom(options.seed());
    TrainingLoop.run(model.params(), options.steps(), options.learningRate(), 0.995f,
        batch -> loss(batch, model, random, options.batch()));
    TrainingLoop.save(model.params(), options.out());
  }

  static BufferedImage trainingImage(Scene scene) {
    return ImageResize.square(scene.image(), TinyVqa.IMAGE_SIZE);
  }

  private static NDArray loss(NDManager m, TinyVqa model, SplittableRandom random, int batch) {
    int steps = VqaVocabulary.MAX_ANSWER_TOKENS;
    int answers = VqaVocabulary.answerSize();
    List<BufferedImage> images = new ArrayList<>(batch);
    float[] questions = new float[batch * VqaVocabulary.questionSize()];
    float[] previous = new float[batch * steps * answers];
    float[] positions = new float[batch * steps * steps];
    float[] targets = new float[batch * steps * answers];
    float[] mask = new float[batch * steps];
    for (int b = 0; b < batch; b++) {
      Scene scene = Scene.random(random, 32 * (1 + random.nextInt(3)));
      images.add(trainingImage(scene));
      QuestionGenerator.QA qa = QuestionGenerator.ask(scene, random);
      float[] q = VqaVocabulary.encodeQuestion(qa.question()).multiHot();
      System.arraycopy(q, 0, questions, b * q.length, q.length);
      int[] answer = VqaVocabulary.encodeAnswer(qa.answer());
      int prev = VqaVocabulary.answerId(VqaVocabulary.BOS);
      for (int s = 0; s < steps; s++) {
        int row = b * steps + s;
        previous[row * answers + prev] = 1f;
        positions[row * steps + s] = 1f;
        if (answer[s] >= 0) {
          targets[row * answers + answer[s]] = 1f;
          mask[row] = 1f;
          prev = answer[s];
        }
      }
    }
    NDArray image = model.encodeImage(ImageTensors.toTensor(m, images));
    NDArray text = model.encodeText(m.create(questions, new Shape(batch, VqaVocabulary.questionSize())));
    NDArray context = model.fuse(image, text); // (B, F)
    NDArray perStep = context.expandDims(1).repeat(1, steps).reshape(batch * steps, -1);
    NDArray logits = model.decodeStep(perStep,
        m.create(previous, new Shape(batch * steps, answers)),
        m.create(positions, new Shape(batch * steps, steps)));
    NDArray logProbs = logits.logSoftmax(1);
    NDArray nll = logProbs.mul(m.create(targets, new Shape(batch * steps, answers))).sum(new int[] {1}).neg();
    NDArray maskArray = m.create(mask);
    return nll.mul(maskArray).sum().div(maskArray.sum());
  }

}
