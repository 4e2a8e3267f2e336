package dev.inferpipe.consumer.exported;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.inferpipe.consumer.diffusion.DiffusionSampler;
import dev.inferpipe.consumer.diffusion.Sampler;
import dev.inferpipe.consumer.diffusion.StepObserver;
import dev.inferpipe.consumer.model.DiffusionModel;
import dev.inferpipe.consumer.model.LoadedModel;
import dev.inferpipe.consumer.model.VqaModel;
import dev.inferpipe.consumer.pipeline.GeneratedImage;
import dev.inferpipe.consumer.pipeline.StepTelemetry;
import dev.inferpipe.consumer.pipeline.Txt2ImgPipeline;
import dev.inferpipe.consumer.pipeline.VqaAnswer;
import dev.inferpipe.consumer.pipeline.VqaPipeline;
import dev.inferpipe.core.job.Txt2ImgInput;
import dev.inferpipe.core.job.VqaInput;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Tracer;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import tools.jackson.databind.JsonNode;

/**
 * Java against the Python reference, on fixtures exported by real PyTorch (TorchScript and ONNX
 * of the same weights): tokenizer, graphs, scheduler, VAE scaling, channel order and PNG
 * encoding, through the same pipelines the consumer runs.
 */
class ExportedFixturesTest {
  private static final Tracer TRACER = OpenTelemetry.noop().getTracer("test");
  private static final Map<String, LoadedModel> MODELS = new HashMap<>();

  @BeforeAll
  static void load() {
    for (String id : List.of("fx-colour-ts", "fx-colour-onnx", "fx-sd-ts", "fx-sd-onnx",
        "fx-vqa-ts", "fx-vqa-onnx")) {
      MODELS.put(id, Fixtures.load(id));
    }
  }

  @AfterAll
  static void close() {
    MODELS.values().forEach(LoadedModel::close);
  }

  private static Txt2ImgPipeline txt2img() {
    return new Txt2ImgPipeline(TRACER, StepTelemetry.OFF, new SimpleMeterRegistry());
  }

  @ParameterizedTest
  @ValueSource(strings = {"fx-colour-ts", "fx-colour-onnx"})
  void theClosedFormFixtureGivesThePredictedColourWithin1Of255(String id) throws Exception {
    JsonNode expected = Fixtures.reference("fx-colour").path("expected_rgb");
    DiffusionModel model = (DiffusionModel) MODELS.get(id);
    int checked = 0;
    for (String sampler : List.of("ddim", "ddpm")) {
      for (var entry : (Iterable<Map.Entry<String, JsonNode>>) expected.properties()::iterator) {
        GeneratedImage image = txt2img().run(model, List.of(new Txt2ImgInput(entry.getKey(), "",
            sampler.equals("ddim") ? 7 : 3, 3.0, 11L + checked, sampler, 16, 16)), () -> false).get(0);
        BufferedImage png = ImageIO.read(new ByteArrayInputStream(image.png()));
        assertThat(png.getWidth()).isEqualTo(16);
        int[] rgb = {entry.getValue().get(0).asInt(), entry.getValue().get(1).asInt(),
            entry.getValue().get(2).asInt()};
        for (int y = 0; y < 16; y++) {
          for (int x = 0; x < 16; x++) {
            int pixel = png.getRGB(x, y);
            int[] got = {(pixel >> 16) & 0xFF, (pixel >> 8) & 0xFF, pixel & 0xFF};
            for (int c = 0; c < 3; c++) {
              assertThat(Math.abs(got[c] - rgb[c]))
                  .as("%s %s \"%s\" pixel (%d,%d) channel %d", id, sampler, entry.getKey(), x, y, c)
                  .isLessThanOrEqualTo(1);
            }
          }
        }
        checked++;
      }
    }
    assertThat(checked).isEqualTo(10);
  }

  @ParameterizedTest
  @ValueSource(strings = {"fx-sd-ts", "fx-sd-onnx"})
  void eachDiffusersGraphMatchesThePythonReferenceWithin1e4(String id) {
    JsonNode reference = Fixtures.reference("fx-sd");
    DiffusersModel model = (DiffusersModel) MODELS.get(id);
    try (NDManager m = model.workspace().newSubManager()) {
      for (JsonNode textCase : reference.path("text_encoder")) {
        DiffusionModel.Prompts prompts = model.encodePrompts(m, List.of(textCase.path("prompt").asString()));
        assertThat(report(id + " text_encoder", Fixtures.maxAbsDiff(prompts.conditioning().toFloatArray(),
            Fixtures.floats(textCase.path("last_hidden_state")))))
            .as("%s text encoder, \"%s\"", id, textCase.path("prompt").asString())
            .isLessThan(1e-4);
      }
      JsonNode unet = reference.path("unet");
      NDArray sample = tensor(m, unet.path("sample"));
      NDArray hidden = tensor(m, unet.path("encoder_hidden_states"));
      long[] timesteps = new long[(int) sample.getShape().get(0)];
      java.util.Arrays.fill(timesteps, Fixtures.longs(unet.path("timestep"))[0]);
      NDArray predicted = model.predictNoise(sample, timesteps, hidden);
      assertThat(report(id + " unet", Fixtures.maxAbsDiff(predicted.toFloatArray(),
          Fixtures.floats(unet.path("out_sample")))))
          .as("%s unet", id).isLessThan(1e-4);
      JsonNode vae = reference.path("vae_decoder");
      NDArray decoded = model.graphs().get(2).call(m,
          Map.of("latent_sample", tensor(m, vae.path("latent_sample"))));
      assertThat(report(id + " vae_decoder", Fixtures.maxAbsDiff(decoded.toFloatArray(),
          Fixtures.floats(vae.path("sample")))))
          .as("%s vae decoder", id).isLessThan(1e-4);
    }
  }

  @Test
  void tokenizerIdsMatchThePythonReference() {
    DiffusersModel model = (DiffusersModel) MODELS.get("fx-sd-onnx");
    for (JsonNode textCase : Fixtures.reference("fx-sd").path("text_encoder")) {
      assertThat(model.tokenizer().encode(textCase.path("prompt").asString(), true).ids())
          .containsExactly(Fixtures.longs(textCase.path("input_ids")));
    }
  }

  @Test
  void onnxAndTorchScriptExportsOfOneModelSampleTheSameImageWithin1e4() {
    for (Sampler sampler : Sampler.values()) {
      float[] ts = sampleFloats((DiffusionModel) MODELS.get("fx-sd-ts"), sampler);
      float[] onnx = sampleFloats((DiffusionModel) MODELS.get("fx-sd-onnx"), sampler);
      assertThat(report("fx-sd ts vs onnx " + sampler, Fixtures.maxAbsDiff(ts, onnx)))
          .as("%s", sampler).isLessThan(1e-4);
      double min = Double.MAX_VALUE;
      double max = -Double.MAX_VALUE;
      for (float v : ts) {
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
      assertThat(max - min).as("%s: the image is not constant", sampler).isGreaterThan(0.1);
    }
  }

  private static float[] sampleFloats(DiffusionModel model, Sampler sampler) {
    try (NDManager m = model.workspace().newSubManager()) {
      DiffusionModel.Prompts prompts = model.encodePrompts(m,
          List.of("a blue square at the top", "red circle", "", ""));
      DiffusionModel.SampleShape shape = model.sampleShape();
      NDArray samples = new DiffusionSampler(model, model.schedule()).sample(m,
          new DiffusionSampler.Request(sampler, 12, 4f, new long[] {5, 6}, prompts.conditioning(),
              shape.channels(), shape.height(), shape.width()), StepObserver.NONE);
      return model.decode(samples).toFloatArray();
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"fx-vqa-ts", "fx-vqa-onnx"})
  void greedyVqaGivesThePythonTokensAndAnswer(String id) {
    JsonNode reference = Fixtures.reference("fx-vqa");
    VqaModel model = (VqaModel) MODELS.get(id);
    VqaPipeline pipeline = new VqaPipeline(TRACER, StepTelemetry.OFF, new SimpleMeterRegistry(),
        (uri, tenant) -> new byte[0], Duration.ofMinutes(1), System::nanoTime);
    List<String> answers = new ArrayList<>();
    for (JsonNode vqaCase : reference.path("cases")) {
      String image = Base64.getEncoder().encodeToString(
          Fixtures.referenceImage(vqaCase.path("image").asString()));
      VqaAnswer answer = pipeline.run(model, new VqaInput(image, vqaCase.path("question").asString(),
          6), () -> false);
      List<String> tokens = new ArrayList<>();
      vqaCase.path("tokens").forEach(t -> tokens.add(t.asString()));
      assertThat(answer.tokens()).as("%s: %s", id, vqaCase.path("question").asString())
          .containsExactlyElementsOf(tokens);
      assertThat(answer.answer()).isEqualTo(vqaCase.path("answer").asString());
      assertThat(answer.confidence())
          .isCloseTo(vqaCase.path("confidence").asDouble(),
              org.assertj.core.data.Percentage.withPercentage(0.01));
      answers.add(answer.answer());
    }
    assertThat(answers).hasSizeGreaterThanOrEqualTo(4);
    assertThat(answers.stream().distinct().count()).isGreaterThan(1);
  }

  @ParameterizedTest
  @ValueSource(strings = {"fx-vqa-ts", "fx-vqa-onnx"})
  void preprocessingGivesThePythonPixelValues(String id) throws Exception {
    JsonNode reference = Fixtures.reference("fx-vqa").path("pixel_values_by_image");
    VqaModel model = (VqaModel) MODELS.get(id);
    int checked = 0;
    for (var entry : (Iterable<Map.Entry<String, JsonNode>>) reference.properties()::iterator) {
      BufferedImage image = ImageIO.read(new ByteArrayInputStream(
          Fixtures.referenceImage(entry.getKey())));
      try (NDManager m = model.workspace().newSubManager()) {
        float[] pixels = model.normalize(m, model.resize(image)).toFloatArray();
        assertThat(Fixtures.maxAbsDiff(pixels, Fixtures.floats(entry.getValue())))
            .as(entry.getKey()).isLessThan(1e-5);
      }
      checked++;
    }
    assertThat(checked).isEqualTo(4);
  }

  /** Prints a measured difference (the figures docs/models.md quotes) and returns it. */
  static double report(String what, double maxAbsDiff) {
    System.out.printf("max |diff| %-32s %.3g%n", what, maxAbsDiff);
    return maxAbsDiff;
  }

  private static NDArray tensor(NDManager m, JsonNode tensor) {
    return m.create(Fixtures.floats(tensor), new Shape(Fixtures.shape(tensor)));
  }
}
