package dev.inferpipe.local;

import dev.inferpipe.core.job.JobCodec;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import tools.jackson.databind.JsonNode;

/** The few producer-api calls the CLI and the demo make. */
final class ApiClient {
  private final String baseUrl;
  // The API and the local S3 server speak HTTP/1.1 only (no h2c): ask for it rather than have
  // the JDK's HTTP/2 default offer an upgrade that is never taken.
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).followRedirects(HttpClient.Redirect.NEVER).build();
  private final JobCodec codec = new JobCodec();

  ApiClient(String baseUrl) {
    this.baseUrl = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
  }

  record Response(int status, String body) {}

  Response submit(String jobJson) throws IOException, InterruptedException {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(baseUrl + "/v1/jobs"))
        .header("Content-Type", "application/json")
        .timeout(Duration.ofSeconds(30))
        .POST(HttpRequest.BodyPublishers.ofString(jobJson)).build(),
        HttpResponse.BodyHandlers.ofString());
    return new Response(r.statusCode(), r.body());
  }

  Response get(String path) throws IOException, InterruptedException {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(baseUrl + path))
        .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
    return new Response(r.statusCode(), r.body());
  }

  /** Follows the result redirect to the presigned URL and returns the object's bytes. */
  byte[] fetchResult(String jobId) throws IOException, InterruptedException {
    HttpResponse<String> redirect = http.send(HttpRequest.newBuilder(
        URI.create(baseUrl + "/v1/jobs/" + jobId + "/result")).build(),
        HttpResponse.BodyHandlers.ofString());
    if (redirect.statusCode() != 302) {
      throw new IOException("result not available (" + redirect.statusCode() + "): " + redirect.body());
    }
    String url = redirect.headers().firstValue("Location").orElseThrow();
    HttpResponse<byte[]> object = http.send(HttpRequest.newBuilder(URI.create(url)).build(),
        HttpResponse.BodyHandlers.ofByteArray());
    if (object.statusCode() != 200) {
      throw new IOException("GET " + url + " answered " + object.statusCode());
    }
    return object.body();
  }

  JsonNode json(String body) {
    return codec.parseTree(body.getBytes(StandardCharsets.UTF_8));
  }

  /** Polls until the job is terminal; {@code progress} sees every status body. */
  JsonNode awaitTerminal(String jobId, Duration timeout, java.util.function.Consumer<JsonNode> progress)
      throws IOException, InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      Response r = get("/v1/jobs/" + jobId);
      if (r.status() == 200) {
        JsonNode status = json(r.body());
        progress.accept(status);
        String state = status.get("status").asString();
        if (dev.inferpipe.core.job.JobState.valueOf(state).isTerminal()) {
          return status;
        }
      }
      if (System.nanoTime() > deadline) {
        throw new IOException("job " + jobId + " did not finish within " + timeout.toSeconds() + " s");
      }
      Thread.sleep(200);
    }
  }
}
