package dev.inferpipe.local;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inferpipe.core.config.Env;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalStackIT {
  private final HttpClient http = HttpClient.newHttpClient();

  private Env env(Path dir) {
    return Env.of(Map.of(
        "INFERPIPE_DATA_DIR", dir.toString(),
        "INFERPIPE_LOCAL_KAFKA_PORT", "0",
        "INFERPIPE_LOCAL_S3_PORT", "0",
        "INFERPIPE_API_PORT", "0",
        "INFERPIPE_CONSUMER_MANAGEMENT_PORT", "0"));
  }

  @Test
  void stackServesJobsAndKeepsThemAcrossARestart(@TempDir Path dir) throws Exception {
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
    }
    assertThat(dir.resolve("kafka").resolve("meta.properties")).exists();
    assertThat(dir.resolve("s3").resolve("inferpipe-outputs")).isDirectory();

    try (LocalStack again = LocalStack.start(env(dir))) {
      awaitReady(again);
      HttpResponse<String> polled = http.send(HttpRequest.newBuilder(
          URI.create(again.apiUrl() + "/v1/jobs/" + jobId)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(polled.statusCode()).isEqualTo(200);
      assertThat(polled.body()).contains("\"status\":\"QUEUED\"");
    }
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
