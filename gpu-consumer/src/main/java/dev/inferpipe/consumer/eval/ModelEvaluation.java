package dev.inferpipe.consumer.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.inferpipe.consumer.diffusion.DiffusionSampler;
import dev.inferpipe.consumer.model.DiffusionModel;
import dev.inferpipe.consumer.diffusion.Sampler;
import dev.inferpipe.consumer.diffusion.StepObserver;
import dev.inferpipe.consumer.shapes.ImageResize;
import dev.inferpipe.consumer.shapes.ImageTensors;
import dev.inferpipe.consumer.shapes.Scene;
import dev.inferpipe.consumer.shapes.ShapeColor;
import dev.inferpipe.consumer.shapes.ShapeKind;
import dev.inferpipe.consumer.vqa.QuestionGenerator;
import dev.inferpipe.consumer.vqa.TinyVqa;
import dev.inferpipe.consumer.vqa.VqaVocabulary;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Quality measured by code: how often the judge agrees with the prompt of generated images, and
 * VQA exact match on scenes and questions drawn from a seed the training never used.
 */
public final class ModelEvaluation {
  public static final String CLASSIFIER_RESOURCE = "eval/shape-classifier.params";

  private ModelEvaluation() {}

  /** Fractions of generated images whose colour / shape the judge reads as prompted. */
  public record Agreement(int samples, double color, double shape) {}

  public static ShapeClassifier bundledClassifier(NDManager manager) {
    ShapeClassifier classifier = new ShapeClassifier(manager, 0);
    try (InputStream in = ModelEvaluation.class.getClassLoader().getResourceAsStream(CLASSIFIER_RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException(CLASSIFIER_RESOURCE + " missing; run ./pipeline train classifier");
      }
      classifier.params().load(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return classifier;
  }

  /**
   * Generates {@code perPrompt} images for each of the 12 "a {colour} {shape}" prompts with DDIM
   * at {@code steps} steps and guidance {@code cfg}, and lets the judge read them.
   */
  public static Agreement diffusionAgreement(NDManager root, DiffusionModel model,
      ShapeClassifier judge, int perPrompt, int steps, float cfg, long seed) {
    DiffusionSampler sampler = new DiffusionSampler(model, model.schedule());
    int total = 0;
    int colorRight = 0;
    int shapeRight = 0;
    long nextSeed = seed;
    for (ShapeColor color : ShapeColor.values()) {
      for (ShapeKind kind : ShapeKind.values()) {
        try (NDManager m = root.newSubManager()) {
          List<String> prompts = new ArrayList<>();
          long[] seeds = new long[perPrompt];
          for (int i = 0; i < perPrompt; i++) {
            prompts.add("a " + color.word() + " " + kind.word());
            seeds[i] = nextSeed++;
          }
          for (int i = 0; i < perPrompt; i++) {
            prompts.add("");
          }
          NDArray images = sampler.sample(m, new DiffusionSampler.Request(Sampler.DDIM, steps, cfg,
              seeds, model.encodePrompts(m, prompts).conditioning(), 3, 32, 32), StepObserver.NONE);
          for (ShapeClassifier.Verdict verdict : judge.judge(images)) {
            total++;
            colorRight += verdict.color() == color ? 1 : 0;
            shapeRight += verdict.kind() == kind ? 1 : 0;
          }
        }
      }
    }
    return new Agreement(total, (double) colorRight / total, (double) shapeRight / total);
  }

  /** Greedy-decoded answers equal to the true answer, over {@code count} fresh questions. */
  public static double vqaExactMatch(NDManager root, TinyVqa model, int count, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    int right = 0;
    int answers = VqaVocabulary.answerSize();
    int positions = VqaVocabulary.MAX_ANSWER_TOKENS;
    for (int i = 0; i < count; i++) {
      try (NDManager m = root.newSubManager()) {
        Scene scene = Scene.random(random, 32 * (1 + random.nextInt(3)));
        QuestionGenerator.QA qa = QuestionGenerator.ask(scene, random);
        NDArray image = model.encodeImage(ImageTensors.toTensor(m,
            List.of(ImageResize.square(scene.image(), TinyVqa.IMAGE_SIZE))));
        NDArray text = model.encodeText(m.create(VqaVocabulary.encodeQuestion(qa.question()).multiHot(),
            new ai.djl.ndarray.types.Shape(1, VqaVocabulary.questionSize())));
        NDArray context = model.fuse(image, text);
        int previous = VqaVocabulary.answerId(VqaVocabulary.BOS);
        List<String> tokens = new ArrayList<>();
        for (int step = 0; step < positions; step++) {
          float[] prev = new float[answers];
          prev[previous] = 1f;
          float[] pos = new float[positions];
          pos[step] = 1f;
          int best = (int) model.decodeStep(context,
              m.create(prev, new ai.djl.ndarray.types.Shape(1, answers)),
              m.create(pos, new ai.djl.ndarray.types.Shape(1, positions))).argMax(1).getLong(0);
          if (VqaVocabulary.answerToken(best).equals(VqaVocabulary.EOS)) {
            break;
          }
          tokens.add(VqaVocabulary.answerToken(best));
          previous = best;
        }
        right += String.join(" ", tokens).equals(qa.answer()) ? 1 : 0;
      }
    }
    return (double) right / count;
  }
}
