package dev.inferpipe.core.job;

import static dev.inferpipe.core.job.TestJobs.PNG_BASE64;
import static dev.inferpipe.core.job.TestJobs.txt2img;
import static dev.inferpipe.core.job.TestJobs.vqa;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class JobValidatorTest {
  private final JobValidator validator = new JobValidator(new JobCodec(), TestJobs.CATALOG,
      new Fingerprints(new byte[32]));

  private static String withWebhook(String value) {
    String job = txt2img("\"prompt\":\"a\"");
    return job.substring(0, job.length() - 1) + ",\"webhook_url\":" + value + "}";
  }

  @Test
  void aWebhookUrlIsPartOfTheJobAndOfItsFingerprint() throws Exception {
    ValidatedJob with = validator.validate(withWebhook("\"https://hooks.example.com/a\"")
        .getBytes(StandardCharsets.UTF_8));
    ValidatedJob without = validator.validate(txt2img("\"prompt\":\"a\"")
        .getBytes(StandardCharsets.UTF_8));
    assertThat(with.job().webhookUrl()).isEqualTo("https://hooks.example.com/a");
    assertThat(without.job().webhookUrl()).isNull();
    assertThat(with.requestSha256()).isNotEqualTo(without.requestSha256());
    assertThat(new String(new JobCodec().encode(with.job()), StandardCharsets.UTF_8))
        .contains("\"webhook_url\":\"https://hooks.example.com/a\"");
  }

  @Test
  void aStatusCarriesItsWebhookThroughEveryTransition() {
    JobCodec codec = new JobCodec();
    Job job = new Job("j1", Task.TXT2IMG, "tiny-shapes-diffusion",
        new Txt2ImgInput("a", null, 1, 1.0, 1L, "ddim", 32, 32), null, "https://h.example.com/");
    JobStatus queued = JobStatus.queued(job, "h", null, "s3://b/o/", java.time.Instant.EPOCH,
        "t", "key-1");
    JobStatus done = queued.running(java.time.Instant.EPOCH, 1).storing(java.time.Instant.EPOCH)
        .stored(java.time.Instant.EPOCH, 1, "s3://b/o/image.png", null, 0);
    assertThat(done.webhook()).isEqualTo(JobWebhook.target("https://h.example.com/", "key-1"));
    JobStatus decoded = codec.decodeStatus(codec.encode(done));
    assertThat(decoded).isEqualTo(done);
    assertThat(new String(codec.encode(done), StandardCharsets.UTF_8))
        .contains("\"webhook\":{\"url\":\"https://h.example.com/\",\"key_id\":\"key-1\"}");
    assertThat(queued.ended(JobState.CANCELLED, null, java.time.Instant.EPOCH).webhook())
        .isEqualTo(done.webhook());
  }

  static Stream<Arguments> badJobs() {
    String huge = "x".repeat(1001);
    String deep = "[".repeat(40) + "]".repeat(40);
    String bigImage = Base64.getEncoder().encodeToString(new byte[JobValidator.MAX_IMAGE_BYTES + 8]);
    return Stream.of(
        // name, body, error code, field, reason
        Arguments.of("empty body", "", ErrorCode.INVALID_JSON, "", "empty"),
        Arguments.of("whitespace only", "   ", ErrorCode.INVALID_JSON, "", "empty"),
        Arguments.of("malformed JSON", "{\"task\": ", ErrorCode.INVALID_JSON, "", "malformed_json"),
        Arguments.of("trailing garbage", txt2img("\"prompt\":\"a\"") + "}",
            ErrorCode.INVALID_JSON, "", "malformed_json"),
        Arguments.of("duplicate key", "{\"task\":\"vqa\",\"task\":\"txt2img\"}",
            ErrorCode.INVALID_JSON, "", "malformed_json"),
        Arguments.of("nesting too deep", deep, ErrorCode.INVALID_JSON, "", "malformed_json"),
        Arguments.of("array instead of object", "[]", ErrorCode.INVALID_JOB, "", "type"),
        Arguments.of("unknown task",
            "{\"task\":\"txt2video\",\"model_id\":\"m\",\"input\":{}}",
            ErrorCode.INVALID_JOB, "task", "enum"),
        Arguments.of("missing task", "{\"model_id\":\"m\",\"input\":{}}",
            ErrorCode.INVALID_JOB, "task", "required"),
        Arguments.of("missing input", "{\"task\":\"vqa\",\"model_id\":\"tiny-shapes-vqa\"}",
            ErrorCode.INVALID_JOB, "input", "required"),
        Arguments.of("missing prompt", txt2img("\"steps\":10"),
            ErrorCode.INVALID_JOB, "input.prompt", "required"),
        Arguments.of("empty prompt", txt2img("\"prompt\":\"\""),
            ErrorCode.INVALID_JOB, "input.prompt", "minLength"),
        Arguments.of("prompt too long", txt2img("\"prompt\":\"" + huge + "\""),
            ErrorCode.INVALID_JOB, "input.prompt", "maxLength"),
        Arguments.of("prompt wrong type", txt2img("\"prompt\":42"),
            ErrorCode.INVALID_JOB, "input.prompt", "type"),
        Arguments.of("steps zero", txt2img("\"prompt\":\"a\",\"steps\":0"),
            ErrorCode.INVALID_JOB, "input.steps", "minimum"),
        Arguments.of("steps above schema", txt2img("\"prompt\":\"a\",\"steps\":201"),
            ErrorCode.INVALID_JOB, "input.steps", "maximum"),
        Arguments.of("steps fractional", txt2img("\"prompt\":\"a\",\"steps\":2.5"),
            ErrorCode.INVALID_JOB, "input.steps", "type"),
        Arguments.of("steps beyond a double's exact range", txt2img("\"prompt\":\"a\",\"steps\":1e308"),
            ErrorCode.INVALID_JOB, "input.steps", "number_out_of_range"),
        Arguments.of("steps as string", txt2img("\"prompt\":\"a\",\"steps\":\"10\""),
            ErrorCode.INVALID_JOB, "input.steps", "type"),
        Arguments.of("webhook not http(s)", withWebhook("\"ftp://hooks.example.com/x\""),
            ErrorCode.INVALID_JOB, "webhook_url", "pattern"),
        Arguments.of("webhook too long",
            withWebhook("\"https://hooks.example.com/" + "a".repeat(2048) + "\""),
            ErrorCode.INVALID_JOB, "webhook_url", "maxLength"),
        Arguments.of("webhook wrong type", withWebhook("42"),
            ErrorCode.INVALID_JOB, "webhook_url", "type"),
        Arguments.of("cfg negative", txt2img("\"prompt\":\"a\",\"cfg_scale\":-1"),
            ErrorCode.INVALID_JOB, "input.cfg_scale", "minimum"),
        Arguments.of("cfg too high", txt2img("\"prompt\":\"a\",\"cfg_scale\":31"),
            ErrorCode.INVALID_JOB, "input.cfg_scale", "maximum"),
        Arguments.of("seed negative", txt2img("\"prompt\":\"a\",\"seed\":-5"),
            ErrorCode.INVALID_JOB, "input.seed", "minimum"),
        Arguments.of("unknown sampler", txt2img("\"prompt\":\"a\",\"sampler\":\"plms\""),
            ErrorCode.INVALID_JOB, "input.sampler", "enum"),
        Arguments.of("width not multiple of 8", txt2img("\"prompt\":\"a\",\"width\":33"),
            ErrorCode.INVALID_JOB, "input.width", "multipleOf"),
        Arguments.of("size beyond model", txt2img("\"prompt\":\"a\",\"width\":1024,\"height\":1024"),
            ErrorCode.INVALID_JOB, "input.width", "model_size"),
        Arguments.of("unknown input field", txt2img("\"prompt\":\"a\",\"guidance\":3"),
            ErrorCode.INVALID_JOB, "input.guidance", "unknown_field"),
        Arguments.of("unknown top-level field",
            "{\"task\":\"vqa\",\"model_id\":\"tiny-shapes-vqa\",\"priority\":1,\"input\":{"
                + "\"image\":\"" + PNG_BASE64 + "\",\"question\":\"q\"}}",
            ErrorCode.INVALID_JOB, "priority", "unknown_field"),
        Arguments.of("unknown model",
            "{\"task\":\"txt2img\",\"model_id\":\"sdxl\",\"input\":{\"prompt\":\"a\"}}",
            ErrorCode.UNKNOWN_MODEL, "model_id", "unknown_model"),
        Arguments.of("model serves another task",
            "{\"task\":\"vqa\",\"model_id\":\"tiny-shapes-diffusion\",\"input\":{"
                + "\"image\":\"" + PNG_BASE64 + "\",\"question\":\"q\"}}",
            ErrorCode.INVALID_JOB, "task", "model_task_mismatch"),
        Arguments.of("job_id path traversal",
            "{\"job_id\":\"../../etc\",\"task\":\"txt2img\",\"model_id\":\"tiny-shapes-diffusion\","
                + "\"input\":{\"prompt\":\"a\"}}",
            ErrorCode.INVALID_JOB, "job_id", "pattern"),
        Arguments.of("job_id too long",
            "{\"job_id\":\"" + "a".repeat(65) + "\",\"task\":\"txt2img\","
                + "\"model_id\":\"tiny-shapes-diffusion\",\"input\":{\"prompt\":\"a\"}}",
            ErrorCode.INVALID_JOB, "job_id", "pattern"),
        Arguments.of("ttl zero",
            "{\"ttl_seconds\":0,\"task\":\"txt2img\",\"model_id\":\"tiny-shapes-diffusion\","
                + "\"input\":{\"prompt\":\"a\"}}",
            ErrorCode.INVALID_JOB, "ttl_seconds", "minimum"),
        Arguments.of("missing image", vqa("\"question\":\"what colour?\""),
            ErrorCode.INVALID_JOB, "input.image", "required"),
        Arguments.of("missing question", vqa("\"image\":\"" + PNG_BASE64 + "\""),
            ErrorCode.INVALID_JOB, "input.question", "required"),
        Arguments.of("question too long",
            vqa("\"image\":\"" + PNG_BASE64 + "\",\"question\":\"" + "q".repeat(501) + "\""),
            ErrorCode.INVALID_JOB, "input.question", "maxLength"),
        Arguments.of("image not base64 nor s3", vqa("\"image\":\"not base64!\",\"question\":\"q\""),
            ErrorCode.INVALID_JOB, "input.image", "invalid_image_reference"),
        Arguments.of("bad base64 padding", vqa("\"image\":\"abcde\",\"question\":\"q\""),
            ErrorCode.INVALID_JOB, "input.image", "invalid_base64"),
        Arguments.of("base64 of text",
            vqa("\"image\":\"" + Base64.getEncoder().encodeToString(
                "hello world".getBytes(StandardCharsets.UTF_8)) + "\",\"question\":\"q\""),
            ErrorCode.INVALID_JOB, "input.image", "unsupported_image_format"),
        Arguments.of("image too large",
            vqa("\"image\":\"" + bigImage + "\",\"question\":\"q\""),
            ErrorCode.INVALID_JOB, "input.image", "maxLength"),
        Arguments.of("max_new_tokens above model",
            vqa("\"image\":\"" + PNG_BASE64 + "\",\"question\":\"q\",\"max_new_tokens\":20"),
            ErrorCode.INVALID_JOB, "input.max_new_tokens", "model_maximum"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badJobs")
  void refusesBadJobWithSpecificError(
      String name, String body, ErrorCode code, String field, String reason) {
    assertThatThrownBy(() -> validator.validate(body.getBytes(StandardCharsets.UTF_8)))
        .isInstanceOfSatisfying(InvalidJobException.class, e -> {
          assertThat(e.code()).isEqualTo(code);
          assertThat(e.fieldErrors())
              .extracting(FieldError::field, FieldError::reason)
              .contains(tuple(field, reason));
          assertThat(e.fieldErrors()).allSatisfy(err -> assertThat(err.message()).isNotBlank());
        });
  }

  @Test
  void reportsEveryInvalidFieldAtOnce() {
    String body = txt2img("\"prompt\":\"\",\"steps\":0,\"cfg_scale\":99,\"sampler\":\"x\"");
    assertThatThrownBy(() -> validator.validate(body.getBytes(StandardCharsets.UTF_8)))
        .isInstanceOfSatisfying(InvalidJobException.class, e ->
            assertThat(e.fieldErrors()).extracting(FieldError::field).containsExactlyInAnyOrder(
                "input.prompt", "input.steps", "input.cfg_scale", "input.sampler"));
  }

  @Test
  void acceptsTxt2ImgAndBindsItsInput() throws Exception {
    String body = "{\"job_id\":\"job-1\",\"task\":\"txt2img\",\"model_id\":\"tiny-shapes-diffusion\","
        + "\"ttl_seconds\":60,\"input\":{\"prompt\":\"a red circle\",\"steps\":10,\"cfg_scale\":2.5,"
        + "\"seed\":42,\"sampler\":\"euler\",\"width\":32,\"height\":32}}";
    ValidatedJob valid = validator.validate(body.getBytes(StandardCharsets.UTF_8));
    assertThat(valid.job().jobId()).isEqualTo("job-1");
    assertThat(valid.job().ttlSeconds()).isEqualTo(60);
    assertThat(valid.model().modelId()).isEqualTo("tiny-shapes-diffusion");
    assertThat(valid.job().input()).isEqualTo(
        new Txt2ImgInput("a red circle", null, 10, 2.5, 42L, "euler", 32, 32));
    assertThat(valid.requestSha256()).hasSize(64);
  }

  @Test
  void acceptsVqaWithS3ImageReference() throws Exception {
    ValidatedJob valid = validator.validate(
        vqa("\"image\":\"s3://scenes/a/b.png\",\"question\":\"what shape?\"")
            .getBytes(StandardCharsets.UTF_8));
    assertThat(((VqaInput) valid.job().input()).imageIsS3Uri()).isTrue();
  }

  @Test
  void fingerprintIgnoresKeyOrderAndWhitespaceButNotValues() throws Exception {
    String a = "{\"task\":\"txt2img\",\"model_id\":\"tiny-shapes-diffusion\",\"input\":{\"prompt\":\"a\",\"seed\":1}}";
    String b = "{ \"input\": {\"seed\": 1, \"prompt\": \"a\"}, \"model_id\": \"tiny-shapes-diffusion\", \"task\": \"txt2img\" }";
    String c = "{\"task\":\"txt2img\",\"model_id\":\"tiny-shapes-diffusion\",\"input\":{\"prompt\":\"a\",\"seed\":2}}";
    String fa = validator.validate(a.getBytes(StandardCharsets.UTF_8)).requestSha256();
    String fb = validator.validate(b.getBytes(StandardCharsets.UTF_8)).requestSha256();
    String fc = validator.validate(c.getBytes(StandardCharsets.UTF_8)).requestSha256();
    assertThat(fa).isEqualTo(fb).isNotEqualTo(fc);
  }
}
