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
 * {@code model_max_length}, and each question is encoded alone. The encoder masks padding, so
 * a batch that pads a short question's states with zeros to a longer one's gives each row the
 * states it has alone. The int8 sentence encoder does not mask padding that way (its
 * activations are quantized with one range per tensor, padding included), which is why a
 * question never shares a text-encoder call with another job's.
 */
class QuestionPaddingTest {
  private static final List<String> QUESTIONS = List.of("what colour is the circle?",
      "how many objects are there?", "is the yellow square on the left or on the right of it?");

  @Test
  void aBatchPadsShorterQuestionsWithoutChangingTheirEncoderStates() throws IOException {
    EncoderDecoderModel model = (EncoderDecoderModel) TestModels.vqa();
    long maxLength = 24; // the bundled tokenizer_config's model_max_length
    try (NDManager m = model.workspace().newSubManager()) {
      NDArray pixels = pixels(model, m);
      List<VqaModel.Question> questions = QUESTIONS.stream().map(q -> model.question(m, q)).toList();
      long longest = 0;
      for (int i = 0; i < QUESTIONS.size(); i++) {
        long length = questions.get(i).inputs().get(0).getShape().get(1);
        assertThat(length).as(QUESTIONS.get(i)).isLessThan(maxLength);
        longest = Math.max(longest, length);
      }
      assertThat(questions.get(0).inputs().get(0).getShape().get(1)).isLessThan(longest);
      // One batch: the two shorter questions are padded with zeros to the longest.
      NDArray batch = model.encode(List.of(pixels, pixels, pixels), questions);
      for (int i = 0; i < QUESTIONS.size(); i++) {
        float[] alone = model.encode(List.of(pixels), List.of(questions.get(i))).toFloatArray();
        assertThat(maxAbsDiff(batch.get(i).toFloatArray(), alone)).as(QUESTIONS.get(i))
            .isLessThan(1e-5f);
      }
    }
  }

  @Test
  void theInt8SentenceEncodersStatesDependOnPaddingSoEachQuestionIsEncodedAlone() {
    EncoderDecoderModel model = (EncoderDecoderModel) TestModels.vqa();
    try (NDManager m = model.workspace().newSubManager()) {
      String question = QUESTIONS.get(0);
      NDArray alone = model.question(m, question).inputs().get(0);
      long length = alone.getShape().get(1);
      NDArray padded = model.question(m, question, true).inputs().get(0)
          .get(new ai.djl.ndarray.index.NDIndex(":, :{}", length));
      assertThat(maxAbsDiff(alone.toFloatArray(), padded.toFloatArray())).isGreaterThan(1e-3f);
      // At its own length, a question's states are the same bits every time.
      assertThat(model.question(m, question).inputs().get(0).toFloatArray())
          .containsExactly(alone.toFloatArray());
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
