package dev.inferpipe.consumer.exported;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.inferpipe.consumer.model.DiffusionModel;
import dev.inferpipe.consumer.model.LoadedModel;
import dev.inferpipe.consumer.model.ModelLoadException;
import dev.inferpipe.consumer.pipeline.JobFailedException;
import dev.inferpipe.consumer.pipeline.StepTelemetry;
import dev.inferpipe.consumer.pipeline.Txt2ImgPipeline;
import dev.inferpipe.core.job.ErrorCode;
import dev.inferpipe.core.job.Txt2ImgInput;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.api.OpenTelemetry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Broken exports fail at load with a message naming the model and the part, or as INVALID_MODEL. */
class BadModelsTest {
  @TempDir
  Path root;

  private Path broken(String fixture) {
    return Fixtures.copyOf(fixture, root);
  }

  private static void card(Path dir) {
    new ModelCardWriter().write(dir);
  }

  /** Updates one file's checksum in the card, as if the card had been written after the edit. */
  private static void rehash(Path dir, String file) throws IOException {
    Path card = dir.resolve("model.json");
    Files.writeString(card, Files.readString(card).replaceAll(
        "(\"" + java.util.regex.Pattern.quote(file) + "\" : \")[0-9a-f]+",
        "$1" + dev.inferpipe.core.job.Sha256.hex(dir.resolve(file))));
  }

  @Test
  void aMissingGraphFileIsNamed() throws IOException {
    Path dir = broken("fx-sd-onnx");
    Files.delete(dir.resolve("unet/model.onnx"));
    assertThatThrownBy(() -> Fixtures.load(root, "fx-sd-onnx"))
        .isInstanceOf(ModelLoadException.class)
        .hasMessage("model 'fx-sd-onnx': missing file unet/model.onnx in " + dir);
  }

  @Test
  void aMissingComponentIsNamed() throws IOException {
    Path dir = broken("fx-sd-onnx");
    Path card = dir.resolve("model.json");
    Files.writeString(card, Files.readString(card).replaceFirst("\"unet\" : \\{", "\"unet_x\" : {"));
    assertThatThrownBy(() -> Fixtures.load(root, "fx-sd-onnx"))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("missing component 'unet'");
  }

  @Test
  void anUnknownPredictionTypeIsRefusedByCardAndLoader() throws IOException {
    Path dir = broken("fx-sd-ts");
    Path config = dir.resolve("scheduler/scheduler_config.json");
    Files.writeString(config, Files.readString(config).replace("\"epsilon\"", "\"sample\""));
    assertThatThrownBy(() -> card(dir)).isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("scheduler: prediction_type 'sample' is not supported");
    // A card written before the edit: the checksum catches it first; re-hash to reach the config.
    rehash(dir, "scheduler/scheduler_config.json");
    assertThatThrownBy(() -> Fixtures.load(root, "fx-sd-ts"))
        .isInstanceOf(ModelLoadException.class)
        .hasMessage("model 'fx-sd-ts': scheduler: prediction_type 'sample' is not supported "
            + "(epsilon or v_prediction)");
  }

  @Test
  void aChecksumMismatchIsRefused() throws IOException {
    Path dir = broken("fx-vqa-onnx");
    Path graph = dir.resolve("decoder/model.onnx");
    byte[] bytes = Files.readAllBytes(graph);
    bytes[bytes.length - 1] ^= 1;
    Files.write(graph, bytes);
    assertThatThrownBy(() -> Fixtures.load(root, "fx-vqa-onnx"))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageStartingWith("model 'fx-vqa-onnx': checksum mismatch for decoder/model.onnx:");
  }

  @Test
  void aGraphMissingAContractInputIsRefused() throws IOException {
    Path dir = broken("fx-sd-ts");
    Path card = dir.resolve("model.json");
    Files.writeString(card, Files.readString(card).replace("\"timestep\" : \"int64\",", ""));
    assertThatThrownBy(() -> Fixtures.load(root, "fx-sd-ts"))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("unet: the graph has no input 'timestep'");
  }

  @Test
  void aWrongOutputShapeFailsTheJobAsInvalidModel() throws IOException {
    // The VAE config now says 4x upsampling (32x32 images); the graph still makes 16x16.
    Path dir = broken("fx-colour-onnx");
    Path config = dir.resolve("vae_decoder/config.json");
    Files.writeString(config, Files.readString(config).replaceFirst("\\[\\s*8,\\s*8\\s*]",
        "[8, 8, 8]"));
    card(dir);
    try (LoadedModel model = Fixtures.load(root, "fx-colour-onnx")) {
      assertThat(model.spec().width()).isEqualTo(32);
      Txt2ImgPipeline pipeline = new Txt2ImgPipeline(OpenTelemetry.noop().getTracer("t"),
          StepTelemetry.OFF, new SimpleMeterRegistry());
      assertThatThrownBy(() -> pipeline.run((DiffusionModel) model, List.of(new Txt2ImgInput(
          "red", "", 2, 3.0, 1L, "ddim", 32, 32)), () -> false))
          .isInstanceOfSatisfying(JobFailedException.class,
              e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_MODEL))
          .hasMessageContaining("model 'fx-colour-onnx' decoded images of shape (1, 3, 16, 16), "
              + "expected (1, 3, 32, 32)");
    }
  }

  @Test
  void aFileThatIsNotOnnxIsRefused() throws IOException {
    Path dir = broken("fx-colour-onnx");
    Files.writeString(dir.resolve("text_encoder/model.onnx"), "not a graph at all");
    assertThatThrownBy(() -> card(dir)).isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("not a valid ONNX model");
    rehash(dir, "text_encoder/model.onnx");
    assertThatThrownBy(() -> Fixtures.load(root, "fx-colour-onnx"))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("text_encoder:").hasMessageContaining("not a valid ONNX model");
  }
}
