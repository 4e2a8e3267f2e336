package dev.inferpipe.consumer.exported;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.inferpipe.consumer.TestModels;
import dev.inferpipe.consumer.model.ModelArtifacts;
import dev.inferpipe.consumer.model.ModelLoadException;
import dev.inferpipe.core.job.JobCodec;
import dev.inferpipe.core.job.Task;
import dev.inferpipe.core.model.ComponentSpec;
import dev.inferpipe.core.model.ModelSpec;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ModelCardTest {
  private final JobCodec codec = new JobCodec();

  /** Every committed card is exactly what the tool writes: nobody hand-copied a checksum. */
  @ParameterizedTest
  @ValueSource(strings = {"fx-colour-ts", "fx-colour-onnx", "fx-sd-ts", "fx-sd-onnx", "fx-vqa-ts",
      "fx-vqa-onnx", "fx-minilm"})
  void committedCardsAreWhatModelCardWrites(String id) throws IOException {
    Path dir = id.equals("fx-minilm") ? Fixtures.minilmRoot().resolve(id) : Fixtures.ROOT.resolve(id);
    ModelSpec committed = codec.decodeModelSpec(
        Files.readAllBytes(Fixtures.ROOT.resolve(id).resolve("model.json")));
    assertThat(new ModelCardWriter().card(dir)).isEqualTo(committed);
  }

  /** The bundled cards too: written by the tool over the files the jars ship, nothing by hand. */
  @ParameterizedTest
  @ValueSource(strings = {"tiny-shapes-diffusion", "tiny-shapes-vqa"})
  void bundledCardsAreWhatModelCardWrites(String id, @TempDir Path cache) {
    ModelArtifacts bundled = TestModels.bundled(cache).fetch(id);
    assertThat(new ModelCardWriter(bundled.spec().sources()).card(bundled.directory()))
        .isEqualTo(bundled.spec());
    assertThat(bundled.spec().understands().get("words")).contains("red", "circle")
        .doesNotContain("scarlet", "ball");
  }

  @Test
  void theCardInfersTaskSizesInputsAndChecksums() {
    ModelSpec sd = new ModelCardWriter().card(Fixtures.ROOT.resolve("fx-sd-ts"));
    assertThat(sd.task()).isEqualTo(Task.TXT2IMG);
    assertThat(sd.format()).isEqualTo(ModelSpec.FORMAT_DIFFUSERS);
    assertThat(sd.width()).isEqualTo(16);
    assertThat(sd.height()).isEqualTo(16);
    assertThat(sd.components().keySet()).containsExactly("text_encoder", "unet", "vae_decoder");
    ComponentSpec unet = sd.components().get("unet");
    assertThat(unet.engine()).isEqualTo(ComponentSpec.PYTORCH);
    assertThat(unet.inputs()).containsExactly(java.util.Map.entry("sample", "float32"),
        java.util.Map.entry("timestep", "int64"), java.util.Map.entry("encoder_hidden_states", "float32"));
    assertThat(sd.files()).containsKeys("unet/model.pt", "tokenizer/tokenizer.json",
        "scheduler/scheduler_config.json").doesNotContainKey("model.json");
    assertThat(sd.files().values()).allMatch(sha -> sha.matches("[0-9a-f]{64}"));

    ModelSpec vqa = new ModelCardWriter().card(Fixtures.ROOT.resolve("fx-vqa-onnx"));
    assertThat(vqa.task()).isEqualTo(Task.VQA);
    assertThat(vqa.maxNewTokens()).isEqualTo(6);
    assertThat(vqa.components().get("encoder").inputs()).containsKeys("pixel_values", "input_ids");
    assertThat(vqa.components().get("encoder").engine()).isEqualTo(ComponentSpec.ONNX_RUNTIME);
  }

  @Test
  void aTorchScriptInputEditedInTheCardIsKept(@TempDir Path root) throws IOException {
    Path dir = Fixtures.copyOf("fx-sd-ts", root);
    Path card = dir.resolve("model.json");
    Files.writeString(card, Files.readString(card).replace("\"timestep\" : \"int64\"",
        "\"timestep\" : \"float32\""));
    assertThat(new ModelCardWriter().write(dir).components().get("unet").inputs())
        .containsEntry("timestep", "float32");
  }

  @Test
  void filesThatShipInAJarAreNamedAsSources() {
    Path dir = Fixtures.minilmRoot().resolve("fx-minilm");
    ModelSpec spec = new ModelCardWriter(java.util.Map.of("text_encoder/model.onnx",
        "classpath:all-minilm-l6-v2.onnx")).card(dir);
    assertThat(spec.sources()).containsExactly(
        java.util.Map.entry("text_encoder/model.onnx", "classpath:all-minilm-l6-v2.onnx"));
    assertThat(spec.files()).containsKey("text_encoder/model.onnx");
    assertThatThrownBy(() -> new ModelCardWriter(java.util.Map.of("text_encoder/model.onnx",
        "https://example.com/minilm.onnx")).card(dir))
        .isInstanceOf(ModelLoadException.class).hasMessageContaining("a classpath:<resource>");
  }

  @Test
  void aDirectoryWithoutALayoutIsRefused(@TempDir Path dir) throws IOException {
    Files.writeString(dir.resolve("weights.bin"), "x");
    assertThatThrownBy(() -> new ModelCardWriter().card(dir)).isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("not an exported layout");
  }

  @Test
  void modelCheckLoadsPrintsAndRunsOneJob() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = ModelTool.run(List.of("check", Fixtures.ROOT.resolve("fx-vqa-onnx").toString()),
        new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    String printed = out.toString(StandardCharsets.UTF_8);
    assertThat(status).as(err.toString(StandardCharsets.UTF_8)).isZero();
    assertThat(printed).contains("checksums ok", "encoder", "decoder", "OnnxRuntime",
        "pixel_values", "int64", "[?,3,16,16]", "smoke vqa: answer", "ok");
  }

  @Test
  void modelCheckExitsNonZeroWithTheProblem(@TempDir Path root) throws IOException {
    Path dir = Fixtures.copyOf("fx-sd-onnx", root);
    Files.delete(dir.resolve("vae_decoder/model.onnx"));
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = ModelTool.run(List.of("check", dir.toString()), new PrintStream(
        new ByteArrayOutputStream()), new PrintStream(err, true, StandardCharsets.UTF_8));
    assertThat(status).isEqualTo(1);
    assertThat(err.toString(StandardCharsets.UTF_8))
        .contains("error: model 'fx-sd-onnx': missing file vae_decoder/model.onnx");
  }
}
