package dev.inferpipe.local;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inferpipe.core.config.Env;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalStackIT {
  private final HttpClient http = HttpClient.newHttpClient();

  private Env env(Path dir) {
    return Env.of(LocalStack.ephemeralEnv(dir));
  }

  @Test
  void aJobRunsEndToEndAndStaysFetchableAcrossARestart(@TempDir Path dir) throws Exception {
    String jobId;
    try (LocalStack stack = LocalStack.start(env(dir))) {
      awaitReady(stack);
      HttpResponse<String> accepted = http.send(HttpRequest.newBuilder(
              URI.create(stack.apiUrl() + "/v1/jobs"))
          .header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString("{\"task\":\"txt2img\","
              + "\"model_id\":\"tiny-shapes-diffusion\",\"input\":{\"prompt\":\"a red circle\"}}"))
          .build(), HttpResponse.BodyHandlers.ofString());
      assertThat(accepted.statusCode()).isEqualTo(202);
      Matcher id = Pattern.compile("\"job_id\":\"([^\"]+)\"").matcher(accepted.body());
      assertThat(id.find()).isTrue();
      jobId = id.group(1);
      String done = pollUntilFinished(stack, jobId);
      assertThat(done).contains("\"status\":\"SUCCEEDED\"",
          "\"output_location\":\"s3://inferpipe-outputs/outputs/" + jobId + "/image.png\"");
    }
    assertThat(dir.resolve("kafka").resolve("meta.properties")).exists();
    assertThat(dir.resolve("s3").resolve("inferpipe-outputs")).isDirectory();

    try (LocalStack again = LocalStack.start(env(dir))) {
      awaitReady(again);
      HttpResponse<String> polled = http.send(HttpRequest.newBuilder(
          URI.create(again.apiUrl() + "/v1/jobs/" + jobId)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(polled.statusCode()).isEqualTo(200);
      assertThat(polled.body()).contains("\"status\":\"SUCCEEDED\"");
      HttpResponse<byte[]> png = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NORMAL)
          .build().send(HttpRequest.newBuilder(URI.create(again.apiUrl() + "/v1/jobs/" + jobId
              + "/result")).build(), HttpResponse.BodyHandlers.ofByteArray());
      assertThat(png.statusCode()).isEqualTo(200);
      assertThat(javax.imageio.ImageIO.read(new java.io.ByteArrayInputStream(png.body())).getWidth())
          .isEqualTo(32);
    }
  }

  private String pollUntilFinished(LocalStack stack, String jobId) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
    String body = "";
    while (System.nanoTime() < deadline) {
      body = http.send(HttpRequest.newBuilder(URI.create(stack.apiUrl() + "/v1/jobs/" + jobId))
          .build(), HttpResponse.BodyHandlers.ofString()).body();
      if (body.contains("\"status\":\"SUCCEEDED\"") || body.contains("\"status\":\"FAILED\"")) {
        return body;
      }
      Thread.sleep(200);
    }
    throw new AssertionError("job " + jobId + " did not finish: " + body);
  }

  private void awaitReady(LocalStack stack) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (System.nanoTime() < deadline) {
      HttpResponse<String> ready = http.send(HttpRequest.newBuilder(
          URI.create(stack.apiUrl() + "/readyz")).build(), HttpResponse.BodyHandlers.ofString());
      if (ready.statusCode() == 200) {
        return;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("local stack never became ready");
  }
}
