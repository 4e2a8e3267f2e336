package dev.inferpipe.consumer.eval;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import dev.inferpipe.consumer.TestModels;
import dev.inferpipe.consumer.train.ClassifierTraining;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The bundled models must stay as good as docs/models.md says (thresholds a little below the
 * measured figures, so only a real regression fails).
 */
class ModelQualityIT {
  @Test
  void judgeIsReliableOnRealImages() {
    try (NDManager root = NDManager.newBaseManager()) {
      ShapeClassifier judge = ModelEvaluation.bundledClassifier(root);
      assertThat(ClassifierTraining.heldOutAccuracy(root, judge, new SplittableRandom(4242), 1000))
          .isGreaterThanOrEqualTo(0.99);
    }
  }

  @Test
  void generatedImagesShowThePromptedColourAndShape() {
    try (NDManager root = NDManager.newBaseManager()) {
      ShapeClassifier judge = ModelEvaluation.bundledClassifier(root);
      // 12 prompts x 17 = 204 samples, 25 DDIM steps, cfg 3.
      ModelEvaluation.Agreement agreement = ModelEvaluation.diffusionAgreement(
          root, TestModels.diffusion(), judge, 17, 25, 3f, 50_000);
      System.out.printf("colour %.4f shape %.4f over %d samples%n",
          agreement.color(), agreement.shape(), agreement.samples());
      assertThat(agreement.samples()).isGreaterThanOrEqualTo(200);
      assertThat(agreement.color()).isGreaterThanOrEqualTo(0.97);
      assertThat(agreement.shape()).isGreaterThanOrEqualTo(0.88);
    }
  }

  @Test
  void vqaAnswersHeldOutQuestions() {
    try (NDManager root = NDManager.newBaseManager()) {
      assertThat(ModelEvaluation.vqaExactMatch(root, TestModels.vqa().model(), 500, 31337))
          .isGreaterThanOrEqualTo(0.98);
    }
  }
}
