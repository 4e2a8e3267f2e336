package dev.inferpipe.consumer.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.inferpipe.core.job.ErrorCode;
import dev.inferpipe.core.job.JobValidator;
import dev.inferpipe.core.s3.S3Uri;
import dev.inferpipe.embedded.EmbeddedS3;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/** VQA's s3:// images against a real S3 server: allow-listed prefixes only, one answer for the rest. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class S3ImageReaderIT {
  private static final byte[] PNG = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 1, 2, 3};
  private EmbeddedS3 server;
  private S3Client s3;
  private S3ImageReader reader;

  @BeforeAll
  void start() {
    server = EmbeddedS3.inMemory().start();
    server.createBucket("inputs");
    server.createBucket("inferpipe-outputs");
    s3 = server.client();
    put("inputs", "shared/scene.png", PNG);
    put("inputs", "acme/scene.png", PNG);
    put("inputs", "globex/secret.png", PNG);
    put("inputs", "shared/huge.png", new byte[JobValidator.MAX_IMAGE_BYTES + 1]);
    put("inferpipe-outputs", "outputs/victim/image.png", PNG);
    reader = new S3ImageReader(s3, List.of("s3://inputs/shared/", "s3://inputs/{tenant}/"));
  }

  @AfterAll
  void stop() {
    s3.close();
    server.close();
  }

  private void put(String bucket, String key, byte[] bytes) {
    s3.putObject(b -> b.bucket(bucket).key(key), RequestBody.fromBytes(bytes));
  }

  private static S3Uri uri(String text) {
    return S3Uri.parse(text).orElseThrow();
  }

  @Test
  void anImageUnderASharedOrTheTenantsOwnPrefixIsRead() {
    assertThat(reader.read(uri("s3://inputs/shared/scene.png"), "acme")).isEqualTo(PNG);
    assertThat(reader.read(uri("s3://inputs/acme/scene.png"), "acme")).isEqualTo(PNG);
  }

  @Test
  void anotherTenantsInputsAnOutputAndAMissingObjectGetTheSameError() {
    String[] refused = {"s3://inputs/globex/secret.png", "s3://inferpipe-outputs/outputs/victim/image.png",
        "s3://inputs/acme/missing.png", "s3://inputs/shared/../globex/secret.png",
        "s3://other-bucket/shared/scene.png"};
    for (String text : refused) {
      assertThatThrownBy(() -> reader.read(uri(text), "acme"))
          .isInstanceOfSatisfying(JobFailedException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.INVALID_IMAGE);
            assertThat(e.getMessage()).isEqualTo(S3ImageReader.notAvailable(uri(text)).getMessage());
          });
    }
  }

  @Test
  void aTenantPrefixMatchesNothingForAJobWithoutATenant() {
    assertThatThrownBy(() -> reader.read(uri("s3://inputs/acme/scene.png"), null))
        .isInstanceOf(JobFailedException.class);
  }

  @Test
  void anOversizedImageIsRefusedFromItsHeadBeforeAnyDownload() {
    assertThatThrownBy(() -> reader.read(uri("s3://inputs/shared/huge.png"), "acme"))
        .isInstanceOfSatisfying(JobFailedException.class, e ->
            assertThat(e.getMessage()).contains("the limit is " + JobValidator.MAX_IMAGE_BYTES));
  }

  @Test
  void withoutPrefixesEveryS3ImageIsRefused() {
    S3ImageReader none = new S3ImageReader(s3, List.of());
    assertThatThrownBy(() -> none.read(uri("s3://inputs/shared/scene.png"), "acme"))
        .isInstanceOf(JobFailedException.class);
  }
}
