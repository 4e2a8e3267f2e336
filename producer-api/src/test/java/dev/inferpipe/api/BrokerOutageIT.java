package dev.inferpipe.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BrokerOutageIT {
  @TempDir Path dir;

  @Test
  void brokerDownGives503AndPublishesNothing() throws Exception {
    try (ApiTestStack stack = new ApiTestStack(dir)) {
      stack.awaitReady();
      String body = "{\"job_id\":\"outage-1\",\"task\":\"txt2img\","
          + "\"model_id\":\"tiny-shapes-diffusion\",\"input\":{\"prompt\":\"a red circle\"}}";

      stack.kafka.stop();
      long start = System.nanoTime();
      HttpResponse<String> response = stack.postJson(body);
      long tookMs = (System.nanoTime() - start) / 1_000_000;

      assertThat(response.statusCode()).isEqualTo(503);
      assertThat(response.body()).contains("\"code\":\"UNAVAILABLE\"");
      assertThat(response.headers().firstValue("Retry-After")).contains("5");
      assertThat(tookMs).isLessThan(15_000);
      assertThat(stack.get("/readyz").statusCode()).isEqualTo(503);
      assertThat(stack.get("/v1/jobs/outage-1").statusCode()).isEqualTo(404);

      stack.kafka.start();
      stack.awaitReady();
      assertThat(stack.readTopic("inference.requests"))
          .noneMatch(r -> "outage-1".equals(r.key()));
      assertThat(stack.readTopic("inference.status"))
          .noneMatch(r -> "outage-1".equals(r.key()));

      // Once Kafka is back the same submission goes through.
      assertThat(stack.postJson(body).statusCode()).isEqualTo(202);
    }
  }
}
