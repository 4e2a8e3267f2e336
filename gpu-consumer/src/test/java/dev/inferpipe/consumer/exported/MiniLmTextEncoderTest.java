package dev.inferpipe.consumer.exported;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import dev.inferpipe.consumer.model.DiffusionModel;
import dev.inferpipe.consumer.model.LoadedModel;
import dev.inferpipe.consumer.pipeline.GeneratedImage;
import dev.inferpipe.consumer.pipeline.StepTelemetry;
import dev.inferpipe.consumer.pipeline.Txt2ImgPipeline;
import dev.inferpipe.core.job.Sha256;
import dev.inferpipe.core.job.Txt2ImgInput;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.api.OpenTelemetry;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * all-MiniLM-L6-v2 (a real pretrained 6-layer BERT, ONNX, taken unchanged from the langchain4j
 * jar) as a diffusers text_encoder: its tokenizer and hidden states match the reference the
 * fixture script computed in Python.
 */
class MiniLmTextEncoderTest {
  @Test
  void theJarsFilesAreTheOnesTheReferenceWasComputedFrom() throws IOException {
    JsonNode entries = Fixtures.reference("minilm").path("jar_entries");
    Path model = Fixtures.minilmRoot().resolve("fx-minilm");
    for (String file : List.of("text_encoder/model.onnx", "tokenizer/tokenizer.json")) {
      assertThat(Sha256.hex(model.resolve(file))).as(file)
          .isEqualTo(entries.path(file).path("sha256").asString());
    }
  }

  @Test
  void tokensAndHiddenStatesMatchThePythonReferenceWithin1e4() {
    JsonNode reference = Fixtures.reference("minilm");
    try (LoadedModel loaded = Fixtures.load("fx-minilm")) {
      DiffusersModel model = (DiffusersModel) loaded;
      int cases = 0;
      for (JsonNode minilmCase : reference.path("cases")) {
        String prompt = minilmCase.path("prompt").asString();
        TextTokenizer.Tokens tokens = model.tokenizer().encode(prompt, true);
        assertThat(tokens.ids()).as(prompt).containsExactly(Fixtures.longs(minilmCase.path("input_ids")));
        assertThat(tokens.mask()).as(prompt)
            .containsExactly(Fixtures.longs(minilmCase.path("attention_mask")));
        try (NDManager m = model.workspace().newSubManager()) {
          float[] hidden = model.encodePrompts(m, List.of(prompt)).conditioning().toFloatArray();
          assertThat(ExportedFixturesTest.report("minilm \"" + prompt + "\"",
              Fixtures.maxAbsDiff(hidden, Fixtures.floats(minilmCase.path("last_hidden_state")))))
              .as(prompt).isLessThan(1e-4);
        }
        cases++;
      }
      assertThat(cases).isEqualTo(3);
    }
  }

  /** The card's sources: the encoder is read from the langchain4j jar, not the model directory. */
  @Test
  void theEncoderCanShipInItsJar(@org.junit.jupiter.api.io.TempDir Path root) throws IOException {
    Path dir = root.resolve("fx-minilm");
    Fixtures.copyTree(Fixtures.ROOT.resolve("fx-minilm"), dir);
    assertThat(dir.resolve("text_encoder/model.onnx")).doesNotExist();
    Path card = dir.resolve("model.json");
    java.nio.file.Files.writeString(card, java.nio.file.Files.readString(card).replaceFirst(
        "\\n}\\s*$", ",\n  \"sources\" : {\"text_encoder/model.onnx\" : "
            + "\"classpath:all-minilm-l6-v2.onnx\", \"tokenizer/tokenizer.json\" : "
            + "\"classpath:all-minilm-l6-v2-tokenizer.json\"}\n}\n"));
    try (LoadedModel loaded = Fixtures.load(root, "fx-minilm")) {
      try (NDManager m = ((DiffusersModel) loaded).workspace().newSubManager()) {
        float[] hidden = ((DiffusersModel) loaded).encodePrompts(m, List.of("a scarlet ball"))
            .conditioning().toFloatArray();
        assertThat(Fixtures.maxAbsDiff(hidden, Fixtures.floats(Fixtures.reference("minilm")
            .path("cases").get(0).path("last_hidden_state")))).isLessThan(1e-4);
      }
    }
    // A source outside the classpath scheme is refused.
    java.nio.file.Files.writeString(card, java.nio.file.Files.readString(card)
        .replace("classpath:all-minilm-l6-v2.onnx", "file:/etc/passwd"));
    assertThatThrownBy(() -> Fixtures.load(root, "fx-minilm"))
        .hasMessageContaining("must be a listed file with a classpath:<resource> source");
  }

  @Test
  void aModelWithThePretrainedEncoderRunsThroughThePipeline() {
    try (LoadedModel loaded = Fixtures.load("fx-minilm")) {
      Txt2ImgPipeline pipeline = new Txt2ImgPipeline(OpenTelemetry.noop().getTracer("t"),
          StepTelemetry.OFF, new SimpleMeterRegistry());
      DiffusionModel model = (DiffusionModel) loaded;
      GeneratedImage a = pipeline.run(model, List.of(new Txt2ImgInput("a scarlet ball", "", 3, 3.0,
          9L, "ddim", 16, 16)), () -> false).get(0);
      GeneratedImage b = pipeline.run(model, List.of(new Txt2ImgInput("a scarlet ball", "", 3, 3.0,
          9L, "ddim", 16, 16)), () -> false).get(0);
      assertThat(a.png()).isEqualTo(b.png());
      assertThat(a.unknownWords()).isZero();
    }
  }
}
