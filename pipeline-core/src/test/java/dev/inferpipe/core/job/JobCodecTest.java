package dev.inferpipe.core.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class JobCodecTest {
  private final JobCodec codec = new JobCodec();

  @Test
  void statusRoundTripsWithSnakeCaseIsoInstantsAndNoNulls() {
    Job job = new Job("j1", Task.TXT2IMG, "tiny-shapes-diffusion",
        new Txt2ImgInput("p", "", 5, 3.0, 1L, "ddim", 32, 32), null);
    Instant t0 = Instant.parse("2026-11-21T10:00:00.123Z");
    JobStatus failed = JobStatus.queued(job, "abc", "0af7651916cd43dd8448eb211c80319c",
            "s3://b/outputs/j1/", t0, null)
        .running(t0.plusMillis(50), 50)
        .ended(JobState.FAILED, new JobError(ErrorCode.INVALID_IMAGE, "bad png"), t0.plusMillis(90));

    String json = codec.encodeToString(failed);

    assertThat(json).contains("\"job_id\":\"j1\"", "\"status\":\"FAILED\"", "\"task\":\"txt2img\"",
        "\"submitted_at\":\"2026-11-21T10:00:00.123Z\"", "\"queue_wait_ms\":50",
        "\"error\":{\"code\":\"INVALID_IMAGE\",\"message\":\"bad png\"}");
    assertThat(json).doesNotContain("null", "answer");
    assertThat(codec.decodeStatus(json.getBytes(StandardCharsets.UTF_8))).isEqualTo(failed);
  }

  @Test
  void jobRoundTripsThroughTheWireFormat() {
    Job job = new Job("j2", Task.VQA, "tiny-shapes-vqa",
        new VqaInput(TestJobs.PNG_BASE64, "what colour is the circle?", 4), 30);
    byte[] wire = codec.encode(job);
    assertThat(new String(wire, StandardCharsets.UTF_8))
        .contains("\"max_new_tokens\":4", "\"ttl_seconds\":30", "\"task\":\"vqa\"");
    assertThat(codec.decodeJob(wire)).isEqualTo(job);
  }

  @Test
  void toStringNeverShowsPromptOrImage() {
    Job job = new Job("j3", Task.VQA, "tiny-shapes-vqa",
        new VqaInput(TestJobs.PNG_BASE64, "secret question", 4), null);
    assertThat(job.toString()).doesNotContain("secret");
    assertThat(job.input().toString()).doesNotContain("secret", TestJobs.PNG_BASE64);
  }
}
