package dev.inferpipe.consumer.exported;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.inferpipe.consumer.TestModels;
import java.util.List;
import org.junit.jupiter.api.Test;

class EncodedTextsTest {
  @Test
  void keepsTheMostRecentlyUsedRowsWithinItsBudget() {
    EncodedTexts texts = new EncodedTexts(3 * 4 * Float.BYTES); // three rows of four floats
    texts.put("a", new float[] {1, 1, 1, 1});
    texts.put("b", new float[] {2, 2, 2, 2});
    texts.put("c", new float[] {3, 3, 3, 3});
    assertThat(texts.get("a")).isPresent(); // a is now the most recently used
    texts.put("d", new float[] {4, 4, 4, 4});
    assertThat(texts.get("b")).isEmpty();
    assertThat(texts.get("a")).hasValueSatisfying(row -> assertThat(row).containsOnly(1f));
    assertThat(texts.get("c")).isPresent();
    assertThat(texts.get("d")).isPresent();
    texts.put("too long", new float[13]);
    assertThat(texts.get("too long")).isEmpty();
    assertThat(texts.size()).isEqualTo(3);
  }

  @Test
  void aRepeatedTextIsEncodedOnceAndKeepsItsStates() {
    DiffusersModel model = (DiffusersModel) TestModels.diffusion();
    String prompt = "a green triangle at the top, seen by EncodedTextsTest";
    try (NDManager m = model.workspace().newSubManager()) {
      int before = model.encodedTexts();
      var first = model.encodePrompts(m, List.of(prompt, "", prompt, ""));
      // Each distinct text once: the prompt, and "" unless an earlier test encoded it.
      assertThat(first.encodedRows()).isBetween(1, 2);
      assertThat(model.encodedTexts() - before).isEqualTo(first.encodedRows());
      NDArray c = first.conditioning();
      assertThat(c.getShape().get(0)).isEqualTo(4);
      assertThat(c.get(2).toFloatArray()).containsExactly(c.get(0).toFloatArray());
      assertThat(c.get(3).toFloatArray()).containsExactly(c.get(1).toFloatArray());
      assertThat(c.get(0).toFloatArray()).isNotEqualTo(c.get(1).toFloatArray());
      assertThat(first.unknownWords()[0]).isEqualTo(first.unknownWords()[2]);

      int kept = model.encodedTexts();
      var again = model.encodePrompts(m, List.of("", prompt));
      assertThat(again.encodedRows()).isZero();
      assertThat(model.encodedTexts()).isEqualTo(kept);
      assertThat(again.conditioning().get(1).toFloatArray()).containsExactly(c.get(0).toFloatArray());
      assertThat(again.conditioning().get(0).toFloatArray()).containsExactly(c.get(1).toFloatArray());
    }
  }
}
