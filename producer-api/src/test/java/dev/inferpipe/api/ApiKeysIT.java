package dev.inferpipe.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inferpipe.core.kafka.HeaderNames;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ApiKeysIT {
  private static final String JOB = "{\"task\":\"txt2img\",\"model_id\":\"tiny-shapes-diffusion\","
      + "\"input\":{\"prompt\":\"a red circle\"}}";
  private ApiTestStack stack;

  private static String key(String id, String secret, String tenant, boolean disabled, double rate,
      int burst, int maxQueued) {
    return "{\"id\":\"" + id + "\",\"tenant\":\"" + tenant + "\",\"sha256\":\"" + ApiKeys.hash(secret)
        + "\",\"disabled\":" + disabled + ",\"rate_per_second\":" + rate + ",\"burst\":" + burst
        + ",\"max_queued\":" + maxQueued + "}";
  }

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    Path keys = dir.resolve("keys.json");
    Files.writeString(keys, "{\"keys\":["
        + key("a", "secret-a", "team-a", false, 100, 100, 100) + ","
        + key("b", "secret-b", "team-b", false, 100, 100, 100) + ","
        + key("off", "secret-off", "team-a", true, 100, 100, 100) + ","
        + key("slow", "secret-slow", "team-slow", false, 0.2, 2, 100) + ","
        + key("small", "secret-small", "team-small", false, 100, 100, 2) + ","
        + key("list", "secret-list", "team-list", false, 100, 100, 100) + ","
        + key("other", "secret-other", "team-other", false, 100, 100, 100) + "]}");
    stack = new ApiTestStack(dir, Map.of("INFERPIPE_API_KEYS_FILE", keys.toString()));
    stack.awaitReady();
  }

  @AfterAll
  void stop() {
    stack.close();
  }

  private HttpResponse<String> submit(String secret) throws Exception {
    return stack.request("POST", "/v1/jobs", JOB, Map.of("Content-Type", "application/json",
        "Authorization", "Bearer " + secret));
  }

  @Test
  void keysAreRequiredAndDisabledKeysRefused() throws Exception {
    HttpResponse<String> none = stack.postJson(JOB);
    assertThat(none.statusCode()).isEqualTo(401);
    assertThat(none.headers().firstValue("WWW-Authenticate")).contains("Bearer");
    assertThat(submit("not-a-key").statusCode()).isEqualTo(401);
    assertThat(submit("secret-off").statusCode()).isEqualTo(403);
    assertThat(stack.request("GET", "/v1/jobs/whatever", null, Map.of()).statusCode()).isEqualTo(401);
    assertThat(stack.request("POST", "/v1/jobs", JOB, Map.of("Content-Type", "application/json",
        "X-API-Key", "secret-a")).statusCode()).isEqualTo(202);
  }

  @Test
  void anUnauthenticatedRequestLeavesNoSpanAndAClientTraceIsLinkedNotJoined() throws Exception {
    String foreignTrace = "5bf92f3577b34da6a3ce929d0e0e4736";
    String traceparent = "00-" + foreignTrace + "-00f067aa0ba902b7-01";
    stack.spans.reset();
    assertThat(stack.request("POST", "/v1/jobs", JOB, Map.of("Content-Type", "application/json",
        "traceparent", traceparent)).statusCode()).isEqualTo(401);
    assertThat(stack.spans.getFinishedSpanItems()).as("spans of a refused request").isEmpty();

    assertThat(stack.request("POST", "/v1/jobs", JOB, Map.of("Content-Type", "application/json",
        "Authorization", "Bearer secret-a", "traceparent", traceparent)).statusCode()).isEqualTo(202);
    var server = stack.spans.getFinishedSpanItems().stream()
        .filter(s -> s.getName().equals("POST /v1/jobs")).findFirst().orElseThrow();
    // A caller cannot put its spans into a trace of its choosing (another tenant's job's).
    assertThat(server.getTraceId()).isNotEqualTo(foreignTrace);
    assertThat(server.getParentSpanContext().isValid()).isFalse();
    assertThat(server.getLinks()).singleElement()
        .satisfies(link -> assertThat(link.getSpanContext().getTraceId()).isEqualTo(foreignTrace));
  }

  @Test
  void aTenantSeesOnlyItsOwnJobs() throws Exception {
    HttpResponse<String> accepted = submit("secret-a");
    assertThat(accepted.statusCode()).isEqualTo(202);
    String jobId = accepted.body().replaceAll(".*\"job_id\":\"([^\"]+)\".*", "$1");
    Map<String, String> a = Map.of("Authorization", "Bearer secret-a");
    Map<String, String> b = Map.of("Authorization", "Bearer secret-b");
    HttpResponse<String> own = stack.request("GET", "/v1/jobs/" + jobId, null, a);
    assertThat(own.statusCode()).isEqualTo(200);
    assertThat(own.body()).contains("\"tenant\":\"team-a\"");
    assertThat(stack.request("GET", "/v1/jobs/" + jobId, null, b).statusCode()).isEqualTo(404);
    assertThat(stack.request("GET", "/v1/jobs/" + jobId + "/result", null, b).statusCode()).isEqualTo(404);
    assertThat(stack.request("DELETE", "/v1/jobs/" + jobId, null, b).statusCode()).isEqualTo(404);
    assertThat(stack.request("GET", "/v1/jobs/no-such-job", null, b).body())
        .isEqualTo(stack.request("GET", "/v1/jobs/" + jobId, null, b).body()
            .replace(jobId, "no-such-job"));
    assertThat(stack.readTopic("inference.requests")).filteredOn(r -> jobId.equals(r.key()))
        .singleElement().satisfies(r ->
            assertThat(HeaderNames.get(r.headers(), HeaderNames.TENANT)).contains("team-a"));
  }

  @Test
  void aKeyOverItsRateGets429WithRetryAfter() throws Exception {
    assertThat(submit("secret-slow").statusCode()).isEqualTo(202);
    assertThat(submit("secret-slow").statusCode()).isEqualTo(202);
    HttpResponse<String> limited = submit("secret-slow");
    assertThat(limited.statusCode()).isEqualTo(429);
    assertThat(limited.body()).contains("RATE_LIMITED");
    assertThat(Long.parseLong(limited.headers().firstValue("Retry-After").orElseThrow()))
        .isBetween(1L, 5L);
  }

  @Test
  void aTenantWithTooManyUnfinishedJobsGets429() throws Exception {
    assertThat(submit("secret-small").statusCode()).isEqualTo(202);
    assertThat(submit("secret-small").statusCode()).isEqualTo(202);
    HttpResponse<String> full = submit("secret-small");
    assertThat(full.statusCode()).isEqualTo(429);
    assertThat(full.body()).contains("TOO_MANY_QUEUED");
  }

  @Test
  void theJobListShowsOnlyTheTenantsJobsNewestFirstAPageAtATime() throws Exception {
    Map<String, String> list = Map.of("Authorization", "Bearer secret-list");
    java.util.List<String> submitted = new java.util.ArrayList<>();
    for (int i = 0; i < 3; i++) {
      HttpResponse<String> accepted = submit("secret-list");
      assertThat(accepted.statusCode()).isEqualTo(202);
      submitted.add(accepted.body().replaceAll(".*\"job_id\":\"([^\"]+)\".*", "$1"));
      Thread.sleep(5); // distinct submission times
    }
    assertThat(submit("secret-other").statusCode()).isEqualTo(202);

    HttpResponse<String> first = stack.request("GET", "/v1/jobs?limit=2", null, list);
    assertThat(first.statusCode()).isEqualTo(200);
    var page = new dev.inferpipe.core.job.JobCodec().parseTree(
        first.body().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    assertThat(page.get("jobs").findValuesAsString("job_id"))
        .containsExactly(submitted.get(2), submitted.get(1));
    String cursor = page.get("next_cursor").asString();
    HttpResponse<String> second = stack.request("GET", "/v1/jobs?limit=2&cursor=" + cursor,
        null, list);
    var rest = new dev.inferpipe.core.job.JobCodec().parseTree(
        second.body().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    assertThat(rest.get("jobs").findValuesAsString("job_id")).containsExactly(submitted.get(0));
    assertThat(rest.has("next_cursor")).as("no cursor after the last page").isFalse();
    assertThat(stack.request("GET", "/v1/jobs?status=queued", null, list).body())
        .contains(submitted.get(0), submitted.get(1), submitted.get(2));
    assertThat(stack.request("GET", "/v1/jobs?status=SUCCEEDED", null, list).body())
        .contains("\"jobs\":[]");
    assertThat(stack.request("GET", "/v1/jobs", null, Map.of("Authorization", "Bearer secret-other"))
        .body()).doesNotContain(submitted.get(0), submitted.get(1), submitted.get(2));
    assertThat(stack.request("GET", "/v1/jobs", null, Map.of()).statusCode()).isEqualTo(401);

    HttpResponse<String> bad = stack.request("GET", "/v1/jobs?limit=0&status=DONE&cursor=x%21",
        null, list);
    assertThat(bad.statusCode()).isEqualTo(400);
    assertThat(bad.body()).contains("\"field\":\"limit\"", "\"field\":\"status\"",
        "\"field\":\"cursor\"");
  }
}
