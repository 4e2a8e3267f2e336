package dev.inferpipe.consumer.exported;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.inferpipe.consumer.TestModels;
import dev.inferpipe.consumer.TestScenes;
import dev.inferpipe.consumer.model.VqaModel;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Base64;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/**
 * A question reaches the bundled VQA encoder at its own length, not padded to
 * {@code model_max_length}: the encoder masks padding, so its states are the ones the padded
 * question gives, alone and when a batch pads a short question with zeros to a longer one.
 */
class QuestionPaddingTest {
  private static final List<String> QUESTIONS = List.of("what colour is the circle?",
      "how many objects are there?", "is the yellow square on the left or on the right of it?");

  @Test
  void unpaddedQuestionsGiveThePaddedQuestionsEncoderStates() throws IOException {
    EncoderDecoderModel model = (EncoderDecoderModel) TestModels.vqa();
    long maxLength = 24; // the bundled tokenizer_config's model_max_length
    try (NDManager m = model.workspace().newSubManager()) {
      NDArray pixels = pixels(model, m);
      List<VqaModel.Question> short_ = QUESTIONS.stream()
          .map(q -> model.question(m, q, false)).toList();
      List<VqaModel.Question> padded = QUESTIONS.stream()
          .map(q -> model.question(m, q, true)).toList();
      for (int i = 0; i < QUESTIONS.size(); i++) {
        long length = short_.get(i).inputs().get(0).getShape().get(1);
        assertThat(length).as(QUESTIONS.get(i)).isLessThan(maxLength);
        assertThat(padded.get(i).inputs().get(0).getShape().get(1)).isEqualTo(maxLength);
        float[] alone = model.encode(List.of(pixels), List.of(short_.get(i))).toFloatArray();
        float[] reference = model.encode(List.of(pixels), List.of(padded.get(i))).toFloatArray();
        assertThat(maxAbsDiff(alone, reference)).as(QUESTIONS.get(i)).isLessThan(1e-5f);
      }
      // One batch: the two shorter questions are padded with zeros to the longest.
      List<NDArray> rows = List.of(pixels, pixels, pixels);
      NDArray batch = model.encode(rows, short_);
      NDArray reference = model.encode(rows, padded);
      assertThat(maxAbsDiff(batch.toFloatArray(), reference.toFloatArray())).isLessThan(1e-5f);
    }
  }

  private static NDArray pixels(EncoderDecoderModel model, NDManager m) throws IOException {
    String png = TestScenes.png(120, TestScenes.GREY,
        new TestScenes.Shape(TestScenes.Kind.CIRCLE, TestScenes.RED, 40, 60, 36),
        new TestScenes.Shape(TestScenes.Kind.SQUARE, TestScenes.YELLOW, 85, 40, 30));
    BufferedImage image = ImageIO.read(new ByteArrayInputStream(Base64.getDecoder().decode(png)));
    return model.normalize(m, model.resize(image));
  }

  private static float maxAbsDiff(float[] a, float[] b) {
    assertThat(a).hasSameSizeAs(b);
    float worst = 0;
    for (int i = 0; i < a.length; i++) {
      worst = Math.max(worst, Math.abs(a[i] - b[i]));
    }
    return worst;
  }
}
