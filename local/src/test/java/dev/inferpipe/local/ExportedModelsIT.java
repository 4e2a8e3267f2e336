package dev.inferpipe.local;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inferpipe.core.config.Env;
import dev.inferpipe.core.job.JobCodec;
import dev.inferpipe.core.job.Sha256;
import io.opentelemetry.sdk.trace.data.SpanData;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * Users' exported models (diffusers and encoder-decoder layouts, TorchScript and ONNX, made by
 * real PyTorch: testdata/models) through the whole local stack, given by INFERPIPE_MODEL_URI as
 * a directory and as s3:// on the embedded S3. The API reads the same cards as the consumer.
 */
class ExportedModelsIT {
  private static final Path FIXTURES = Path.of("..", "testdata", "models").toAbsolutePath().normalize();
  private final HttpClient http = HttpClient.newBuilder()
      .followRedirects(HttpClient.Redirect.NORMAL).build();
  private final JobCodec codec = new JobCodec();

  private static Map<String, String> env(Path dataDir, String modelUri, String models) {
    Map<String, String> env = new HashMap<>(LocalStack.ephemeralEnv(dataDir));
    env.put("INFERPIPE_MODEL_URI", modelUri);
    env.put("INFERPIPE_MODELS", models);
    env.put("INFERPIPE_MODEL_CACHE_DIR", dataDir.resolve("model-cache").toString());
    return env;
  }

  @Test
  void exportedModelsRunFromADirectory(@TempDir Path dir) throws Exception {
    Path models = dir.resolve("models");
    for (String id : List.of("fx-colour-ts", "fx-vqa-onnx", "fx-sd-onnx")) {
      copyTree(FIXTURES.resolve(id), models.resolve(id));
    }
    brokenModel(models);
    try (LocalStack stack = LocalStack.start(Env.of(env(dir.resolve("data"), models.toString(),
        "fx-colour-ts,fx-vqa-onnx,fx-sd-onnx,fx-broken")))) {
      awaitConsumer(stack);

      // The broken model is named by /readyz; the others serve.
      HttpResponse<String> ready = get(stack.consumerManagementUrl() + "/readyz");
      assertThat(ready.statusCode()).isEqualTo(503);
      assertThat(ready.body()).contains("model fx-broken",
          "scheduler: prediction_type 'sample' is not supported");
      assertThat(componentLoads(stack, "fx-colour-ts")).containsExactlyInAnyOrder(
          "text_encoder=PyTorch", "unet=PyTorch", "vae_decoder=PyTorch");
      assertThat(componentLoads(stack, "fx-vqa-onnx")).containsExactlyInAnyOrder(
          "encoder=OnnxRuntime", "decoder=OnnxRuntime");

      // txt2img: the closed-form fixture's colour, one diffusion.step span per step, seeded.
      JsonNode red = finish(stack, submit(stack, txt2img("fx-colour-ts", "a red circle", 6, 3)));
      assertThat(red.path("status").asString()).isEqualTo("SUCCEEDED");
      assertSolid(result(stack, red), 255, 102, 51);
      List<SpanData> trace = stack.spans().trace(red.path("trace_id").asString());
      assertThat(trace.stream().filter(s -> s.getName().startsWith("diffusion.step ")).count()).isEqualTo(6);
      assertThat(trace).extracting(SpanData::getName)
          .contains("diffusion.encode_prompt", "diffusion.sample", "diffusion.decode");

      byte[] first = result(stack, finish(stack, submit(stack, txt2img("fx-sd-onnx", "a red circle", 8, 5))));
      byte[] again = result(stack, finish(stack, submit(stack, txt2img("fx-sd-onnx", "a red circle", 8, 5))));
      byte[] other = result(stack, finish(stack, submit(stack, txt2img("fx-sd-onnx", "a red circle", 8, 6))));
      assertThat(again).as("same seed, same bytes").isEqualTo(first);
      assertThat(other).as("another seed").isNotEqualTo(first);

      // vqa: the Python reference's greedy answer.
      JsonNode vqaCase = reference("fx-vqa").path("cases").get(0);
      JsonNode answered = finish(stack, submit(stack, vqa("fx-vqa-onnx", vqaCase)));
      assertThat(answered.path("status").asString()).isEqualTo("SUCCEEDED");
      assertThat(codec.parseTree(result(stack, answered)).path("answer").asString())
          .isEqualTo(vqaCase.path("answer").asString());

      // Cancellation between steps: a long job stops at a step boundary.
      assertCancelledBetweenSteps(stack);

      // The broken model's jobs fail with INVALID_MODEL and the model named; others go on.
      JsonNode failed = finish(stack, submit(stack, txt2img("fx-broken", "red", 2, 1)));
      assertThat(failed.path("status").asString()).isEqualTo("FAILED");
      assertThat(failed.path("error").path("code").asString()).isEqualTo("INVALID_MODEL");
      assertThat(failed.path("error").path("message").asString()).contains("fx-broken",
          "prediction_type");
      JsonNode after = finish(stack, submit(stack, txt2img("fx-colour-ts", "BLUE", 3, 4)));
      assertSolid(result(stack, after), 51, 51, 204);
    }
  }

  @Test
  void exportedModelsRunFromS3AndTheApiReadsTheSameCards(@TempDir Path dir) throws Exception {
    Path data = dir.resolve("data");
    // The embedded S3 keeps objects as files: put the models into its bucket before it starts.
    Path prefix = data.resolve("s3").resolve("inferpipe-models").resolve("exported");
    for (String id : List.of("fx-colour-onnx", "fx-vqa-ts")) {
      copyTree(FIXTURES.resolve(id), prefix.resolve(id));
    }
    try (LocalStack stack = LocalStack.start(Env.of(env(data, "s3://inferpipe-models/exported/",
        "fx-colour-onnx,fx-vqa-ts")))) {
      awaitConsumer(stack);
      assertThat(get(stack.consumerManagementUrl() + "/readyz").statusCode()).isEqualTo(200);
      // The API validates against the S3 cards: fx-colour-onnx makes 16x16 only.
      HttpResponse<String> refused = post(stack, "{\"task\":\"txt2img\",\"model_id\":\"fx-colour-onnx\","
          + "\"input\":{\"prompt\":\"red\",\"width\":32}}");
      assertThat(refused.statusCode()).isEqualTo(400);
      assertThat(refused.body()).contains("input.width", "generates width 16 only");

      JsonNode yellow = finish(stack, submit(stack, txt2img("fx-colour-onnx", "yellow square", 5, 8)));
      assertThat(yellow.path("status").asString()).isEqualTo("SUCCEEDED");
      assertSolid(result(stack, yellow), 255, 255, 0);
      JsonNode vqaCase = reference("fx-vqa").path("cases").get(1);
      JsonNode answered = finish(stack, submit(stack, vqa("fx-vqa-ts", vqaCase)));
      assertThat(codec.parseTree(result(stack, answered)).path("answer").asString())
          .isEqualTo(vqaCase.path("answer").asString());
      // Downloaded once into the cache, every file as its card says.
      Path cached = data.resolve("model-cache").resolve("fx-vqa-ts");
      JsonNode files = codec.parseTree(Files.readAllBytes(FIXTURES.resolve("fx-vqa-ts/model.json")))
          .path("files");
      for (var file : (Iterable<Map.Entry<String, JsonNode>>) files.properties()::iterator) {
        assertThat(Sha256.hex(cached.resolve(file.getKey()))).as(file.getKey())
            .isEqualTo(file.getValue().asString());
      }
    }
  }

  /** fx-sd-ts renamed, its scheduler broken after its card was written and the card re-hashed. */
  private void brokenModel(Path models) throws IOException {
    Path broken = models.resolve("fx-broken");
    copyTree(FIXTURES.resolve("fx-sd-ts"), broken);
    Path config = broken.resolve("scheduler/scheduler_config.json");
    Files.writeString(config, Files.readString(config).replace("\"epsilon\"", "\"sample\""));
    Path card = broken.resolve("model.json");
    Files.writeString(card, Files.readString(card)
        .replace("\"model_id\" : \"fx-sd-ts\"", "\"model_id\" : \"fx-broken\"")
        .replaceAll("(\"scheduler/scheduler_config.json\" : \")[0-9a-f]+", "$1" + Sha256.hex(config)));
  }

  private void assertCancelledBetweenSteps(LocalStack stack) throws Exception {
    List<String> tries = new java.util.ArrayList<>();
    for (int attempt = 0; attempt < 3; attempt++) {
      String jobId = submit(stack, txt2img("fx-sd-onnx", "a long one", 200, 40 + attempt));
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (System.nanoTime() < deadline && !status(stack, jobId).path("status").asString().equals("RUNNING")
          && !terminal(status(stack, jobId))) {
        Thread.sleep(5);
      }
      HttpResponse<String> cancel = http.send(HttpRequest.newBuilder(
          URI.create(stack.apiUrl() + "/v1/jobs/" + jobId)).DELETE().build(),
          HttpResponse.BodyHandlers.ofString());
      JsonNode done = finish(stack, jobId);
      tries.add("cancel " + cancel.statusCode() + " -> " + done.path("status").asString() + " after "
          + done.path("inference_ms").asLong() + " ms");
      if ((cancel.statusCode() == 200 || cancel.statusCode() == 202) && done.path("status").asString().equals("CANCELLED")) {
        String traceId = done.path("trace_id").asString();
        long deadlineSpans = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadlineSpans && stack.spans().trace(traceId).stream()
            .noneMatch(s -> s.getName().equals("diffusion.sample"))) {
          Thread.sleep(50);
        }
        long steps = stack.spans().trace(traceId).stream()
            .filter(s -> s.getName().startsWith("diffusion.step ")).count();
        tries.add(steps + " step spans");
        if (steps > 0 && steps < 200) {
          System.out.println("cancelled between steps: " + tries);
          return;
        }
      }
    }
    throw new AssertionError("no 200-step job was cancelled between its steps in 3 tries: " + tries);
  }

  private List<String> componentLoads(LocalStack stack, String modelId) {
    return stack.spans().named("model.load.component").stream()
        .filter(s -> modelId.equals(s.getAttributes().get(
            io.opentelemetry.api.common.AttributeKey.stringKey("model.id"))))
        .map(s -> s.getAttributes().get(io.opentelemetry.api.common.AttributeKey.stringKey(
            "model.component")) + "=" + s.getAttributes().get(
            io.opentelemetry.api.common.AttributeKey.stringKey("model.engine")))
        .toList();
  }

  private static String txt2img(String model, String prompt, int steps, long seed) {
    return "{\"task\":\"txt2img\",\"model_id\":\"" + model + "\",\"input\":{\"prompt\":\"" + prompt
        + "\",\"steps\":" + steps + ",\"seed\":" + seed + ",\"sampler\":\"ddim\",\"cfg_scale\":3}}";
  }

  private static String vqa(String model, JsonNode vqaCase) throws IOException {
    String image = Base64.getEncoder().encodeToString(Files.readAllBytes(
        FIXTURES.resolve("reference").resolve(vqaCase.path("image").asString())));
    return "{\"task\":\"vqa\",\"model_id\":\"" + model + "\",\"input\":{\"image\":\"" + image
        + "\",\"question\":\"" + vqaCase.path("question").asString() + "\"}}";
  }

  private JsonNode reference(String name) throws IOException {
    return codec.parseTree(Files.readAllBytes(FIXTURES.resolve("reference").resolve(name + ".json")));
  }

  private static void assertSolid(byte[] png, int r, int g, int b) throws IOException {
    BufferedImage image = ImageIO.read(new ByteArrayInputStream(png));
    assertThat(image.getWidth()).isEqualTo(16);
    for (int y = 0; y < image.getHeight(); y++) {
      for (int x = 0; x < image.getWidth(); x++) {
        int pixel = image.getRGB(x, y);
        assertThat(new int[] {(pixel >> 16) & 0xFF, (pixel >> 8) & 0xFF, pixel & 0xFF})
            .as("pixel (%d,%d)", x, y)
            .satisfies(p -> assertThat(Math.abs(p[0] - r) + Math.abs(p[1] - g) + Math.abs(p[2] - b))
                .isLessThanOrEqualTo(3));
      }
    }
  }

  private HttpResponse<String> post(LocalStack stack, String body) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(stack.apiUrl() + "/v1/jobs"))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private String submit(LocalStack stack, String body) throws Exception {
    HttpResponse<String> accepted = post(stack, body);
    assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(202);
    return codec.parseTree(accepted.body().getBytes()).path("job_id").asString();
  }

  private HttpResponse<String> get(String url) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(url)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private JsonNode status(LocalStack stack, String jobId) throws Exception {
    return codec.parseTree(get(stack.apiUrl() + "/v1/jobs/" + jobId).body().getBytes());
  }

  private static boolean terminal(JsonNode status) {
    return List.of("SUCCEEDED", "FAILED", "CANCELLED", "EXPIRED").contains(status.path("status").asString());
  }

  private JsonNode finish(LocalStack stack, String jobId) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
    JsonNode status = null;
    while (System.nanoTime() < deadline) {
      status = status(stack, jobId);
      if (terminal(status)) {
        return status;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("job " + jobId + " did not finish: " + status);
  }

  private byte[] result(LocalStack stack, JsonNode done) throws Exception {
    HttpResponse<byte[]> response = http.send(HttpRequest.newBuilder(URI.create(stack.apiUrl()
        + "/v1/jobs/" + done.path("job_id").asString() + "/result")).build(),
        HttpResponse.BodyHandlers.ofByteArray());
    assertThat(response.statusCode()).as("result of %s", done).isEqualTo(200);
    return response.body();
  }

  private void awaitConsumer(LocalStack stack) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
    while (System.nanoTime() < deadline) {
      if (stack.consumerReady() && get(stack.apiUrl() + "/readyz").statusCode() == 200) {
        return;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("the local stack never became ready");
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> walk = Files.walk(from)) {
      for (Path path : (Iterable<Path>) walk.filter(Files::isRegularFile)::iterator) {
        Path target = to.resolve(from.relativize(path).toString());
        Files.createDirectories(target.getParent());
        Files.copy(path, target, StandardCopyOption.REPLACE_EXISTING);
      }
    }
  }
}
