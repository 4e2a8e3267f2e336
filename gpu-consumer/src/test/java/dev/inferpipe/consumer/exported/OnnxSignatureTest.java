package dev.inferpipe.consumer.exported;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OnnxSignatureTest {
  @Test
  void readsNamesDtypesAndShapesWithoutLoadingTheGraph() throws IOException {
    OnnxSignature unet = OnnxSignature.read(Fixtures.ROOT.resolve("fx-sd-onnx/unet/model.onnx"));
    assertThat(unet.inputs()).extracting(OnnxSignature.Tensor::name)
        .containsExactly("sample", "timestep", "encoder_hidden_states");
    assertThat(unet.inputs()).extracting(OnnxSignature.Tensor::dtype)
        .containsExactly("float32", "int64", "float32");
    assertThat(unet.inputs().get(0).shapeText()).isEqualTo("[?,4,?,?]");
    assertThat(unet.outputs()).hasSize(1);

    OnnxSignature decoder = OnnxSignature.read(Fixtures.ROOT.resolve("fx-vqa-onnx/decoder/model.onnx"));
    assertThat(decoder.inputs()).extracting(OnnxSignature.Tensor::name)
        .containsExactly("decoder_input_ids", "encoder_hidden_states");
    assertThat(decoder.outputs().get(0).name()).isEqualTo("logits");
  }

  @Test
  void aRealPretrainedGraphReadsToo() throws IOException {
    OnnxSignature minilm = OnnxSignature.read(Path.of("target/minilm/all-minilm-l6-v2.onnx"));
    assertThat(minilm.inputs()).extracting(OnnxSignature.Tensor::name)
        .containsExactlyInAnyOrder("input_ids", "attention_mask", "token_type_ids");
    assertThat(minilm.inputs()).allMatch(t -> t.dtype().equals("int64"));
  }

  @Test
  void garbageAndTruncatedFilesAreRefused(@TempDir Path dir) throws IOException {
    Path garbage = dir.resolve("garbage.onnx");
    Files.write(garbage, new byte[] {(byte) 0xFF, (byte) 0xFF, (byte) 0xFF});
    assertThatThrownBy(() -> OnnxSignature.read(garbage)).isInstanceOf(IOException.class)
        .hasMessageContaining("not a valid ONNX model");
    byte[] graph = Files.readAllBytes(Fixtures.ROOT.resolve("fx-sd-onnx/unet/model.onnx"));
    Path truncated = dir.resolve("truncated.onnx");
    Files.write(truncated, java.util.Arrays.copyOf(graph, graph.length / 2));
    assertThatThrownBy(() -> OnnxSignature.read(truncated)).isInstanceOf(IOException.class)
        .hasMessageContaining("not a valid ONNX model");
  }
}
