package dev.inferpipe.local;

import dev.inferpipe.local.eval.Java2dRenderer;
import dev.inferpipe.local.eval.Shapes.Colour;
import dev.inferpipe.local.eval.Shapes.Kind;
import dev.inferpipe.local.eval.Shapes.Scene;
import dev.inferpipe.local.eval.Shapes.Thing;
import dev.inferpipe.core.config.Env;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import javax.imageio.ImageIO;
import tools.jackson.databind.JsonNode;

/**
 * {@code ./pipeline demo}: starts the embedded stack, submits two text-to-image jobs and one VQA
 * job (on a scene it draws), waits for each, prints its timings, output location, local file,
 * answer, trace id and span waterfall, then stops. Exit code 0 only if every job succeeded.
 */
final class Demo {
  private record DemoJob(String title, String json) {}

  /** Held-out wording: neither "square that is" nor this order occurs in training text. */
  static final String PARAPHRASE = "a square that is blue";
  static final String TWO_OBJECTS = "a red circle on the left and a yellow triangle on the right";
  /** Also held out: training asks "what colour is the circle?", never this. */
  static final String QUESTION = "which color does the circle have?";

  private Demo() {}

  static int run(Env env, PrintStream out) throws Exception {
    try (LocalStack stack = LocalStack.start(env)) {
      ApiClient api = new ApiClient(stack.apiUrl());
      awaitReady(stack, api);
      Path sceneFile = stack.settings().dataDir().resolve("demo-scene.png");
      List<DemoJob> jobs = List.of(
          new DemoJob("txt2img \"a red circle\" (ddim, 25 steps, cfg 3, seed 42)",
              txt2img("a red circle", 42, "ddim")),
          new DemoJob("txt2img \"" + PARAPHRASE + "\": a phrasing never seen in training, read by the"
              + " pretrained text encoder (ddim, seed 7)", txt2img(PARAPHRASE, 7, "ddim")),
          new DemoJob("txt2img \"" + TWO_OBJECTS + "\" (euler, seed 3)",
              txt2img(TWO_OBJECTS, 3, "euler")),
          new DemoJob("vqa \"" + QUESTION + "\" on " + sceneFile.getFileName()
              + ": drawn here with Java2D, not the training renderer (a yellow square at top left"
              + " and a green circle at bottom right on a light grey 160 px canvas)",
              "{\"task\":\"vqa\",\"model_id\":\"tiny-shapes-vqa\",\"input\":{\"image\":\""
                  + drawScene(sceneFile) + "\",\"question\":\"" + QUESTION + "\"}}"));
      int failed = 0;
      for (int i = 0; i < jobs.size(); i++) {
        DemoJob job = jobs.get(i);
        out.printf("%njob %d/%d  %s%n", i + 1, jobs.size(), job.title());
        ApiClient.Response accepted = api.submit(job.json());
        if (accepted.status() != 202) {
          out.printf("  submit failed: %d %s%n", accepted.status(), accepted.body());
          failed++;
          continue;
        }
        String jobId = api.json(accepted.body()).get("job_id").asString();
        JsonNode status = api.awaitTerminal(jobId, Duration.ofMinutes(5), s -> { });
        if (!status.get("status").asString().equals("SUCCEEDED")) {
          failed++;
        }
        print(out, stack, api, jobId, status);
      }
      out.printf("%n%d of %d jobs succeeded. The web console shows them at %s/console while the"
          + " stack runs (./pipeline up).%nstopping.%n", jobs.size() - failed, jobs.size(),
          stack.apiUrl());
      return failed == 0 ? 0 : 1;
    }
  }

  private static void awaitReady(LocalStack stack, ApiClient api) throws Exception {
    long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
    while (System.nanoTime() < deadline) {
      if (stack.consumerReady() && api.get("/readyz").status() == 200) {
        return;
      }
      Thread.sleep(100);
    }
    throw new IOException("the local stack did not become ready within 2 minutes");
  }

  private static String txt2img(String prompt, long seed, String sampler) {
    return "{\"task\":\"txt2img\",\"model_id\":\"tiny-shapes-diffusion\",\"input\":{"
        + "\"prompt\":\"" + prompt + "\",\"steps\":25,\"cfg_scale\":3.0,\"seed\":" + seed
        + ",\"sampler\":\"" + sampler + "\"}}";
  }

  private static String drawScene(Path file) throws IOException {
    Scene scene = Java2dRenderer.scene(160, new java.awt.Color(210, 210, 205), List.of(
        new Thing(Colour.YELLOW, Kind.SQUARE, 42, 40, 48),
        new Thing(Colour.GREEN, Kind.CIRCLE, 112, 114, 52)));
    ByteArrayOutputStream png = new ByteArrayOutputStream();
    ImageIO.write(scene.image(), "png", png);
    Files.createDirectories(file.getParent());
    Files.write(file, png.toByteArray());
    return Base64.getEncoder().encodeToString(png.toByteArray());
  }

  private static void print(PrintStream out, LocalStack stack, ApiClient api, String jobId,
      JsonNode status) throws Exception {
    out.printf("  %-15s %s%n", "status", status.get("status").asString());
    out.printf("  %-15s %s%n", "job_id", jobId);
    out.printf("  %-15s %s%n", "queue_wait_ms", text(status, "queue_wait_ms"));
    out.printf("  %-15s %s%n", "inference_ms", text(status, "inference_ms"));
    out.printf("  %-15s %s%n", "output", text(status, "output_location"));
    if (status.has("output_location") && status.get("output_location").asString().startsWith("s3://")) {
      String key = status.get("output_location").asString()
          .substring(("s3://" + stack.settings().bucket() + "/").length());
      Path local = stack.settings().dataDir().resolve("s3").resolve(stack.settings().bucket())
          .resolve(key);
      out.printf("  %-15s %s%s%n", "local file", local, Files.exists(local) ? "" : " (not found)");
    }
    if (status.has("answer")) {
      out.printf("  %-15s %s%n", "answer", status.get("answer").asString());
    }
    if (status.has("error")) {
      out.printf("  %-15s %s%n", "error", status.get("error"));
    }
    out.printf("  %-15s %s%n", "trace_id", text(status, "trace_id"));
    out.println("  waterfall:");
    for (String line : waterfall(api, jobId).split("\n")) {
      out.println("    " + line);
    }
  }

  /** The trace once its last span (the sink's) has ended; spans end just after the status. */
  private static String waterfall(ApiClient api, String jobId) throws Exception {
    String text = "";
    long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
    while (System.nanoTime() < deadline) {
      text = api.get("/v1/jobs/" + jobId + "/trace?format=text").body();
      if (text.contains("process inference.outputs")) {
        Thread.sleep(200); // let the sink's last child spans land
        return api.get("/v1/jobs/" + jobId + "/trace?format=text").body();
      }
      Thread.sleep(100);
    }
    return text;
  }

  private static String text(JsonNode node, String field) {
    return node.has(field) ? node.get(field).asString() : "-";
  }
}
