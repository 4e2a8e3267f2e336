package dev.inferpipe.consumer.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.inferpipe.consumer.TestModels;
import dev.inferpipe.core.job.Sha256;
import dev.inferpipe.core.job.Task;
import dev.inferpipe.embedded.EmbeddedS3;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

class ModelRepositoryIT {
  @TempDir Path dir;

  private static byte[] bundledFile(String file) throws Exception {
    try (var in = ModelRepositoryIT.class.getClassLoader()
        .getResourceAsStream("models/tiny-shapes-vqa/" + file)) {
      return in.readAllBytes();
    }
  }

  @Test
  void classpathModelsCarryAMatchingChecksum() {
    ModelArtifacts artifacts = TestModels.bundled().fetch("tiny-shapes-diffusion");
    assertThat(artifacts.spec().task()).isEqualTo(Task.TXT2IMG);
    assertThat(artifacts.source()).isEqualTo("classpath:models/tiny-shapes-diffusion/");
    assertThat(Sha256.hex(artifacts.weights())).isEqualTo(artifacts.spec().weightsSha256());
    assertThat(artifacts.weights().length).isLessThan(5 * 1024 * 1024);
  }

  @Test
  void directoryModelsLoadFromDisk() throws Exception {
    Path model = Files.createDirectories(dir.resolve("models/tiny-shapes-vqa"));
    Files.write(model.resolve("model.json"), bundledFile("model.json"));
    Files.write(model.resolve("weights.params"), bundledFile("weights.params"));
    ModelRepository repository = new ModelRepository(dir.resolve("models").toString(), dir, () -> null);
    assertThat(repository.fetch("tiny-shapes-vqa").source()).startsWith(dir.toString());
    assertThatThrownBy(() -> repository.fetch("no-such-model"))
        .isInstanceOf(ModelLoadException.class).hasMessageContaining("no-such-model");
  }

  @Test
  void s3ModelsAreDownloadedOnceAndVerified() throws Exception {
    try (EmbeddedS3 s3 = EmbeddedS3.inMemory().start(); S3Client client = s3.client()) {
      s3.createBucket("models");
      put(client, "team/tiny-shapes-vqa/model.json", bundledFile("model.json"));
      put(client, "team/tiny-shapes-vqa/weights.params", bundledFile("weights.params"));
      Path cache = dir.resolve("cache");
      ModelRepository repository = new ModelRepository("s3://models/team/", cache, () -> client);

      ModelArtifacts first = repository.fetch("tiny-shapes-vqa");
      assertThat(first.source()).isEqualTo("s3://models/team/tiny-shapes-vqa/");
      assertThat(cache.resolve("tiny-shapes-vqa/weights.params")).exists();

      // The weights are gone from S3: the verified local copy is used.
      client.deleteObject(b -> b.bucket("models").key("team/tiny-shapes-vqa/weights.params"));
      assertThat(repository.fetch("tiny-shapes-vqa").weights()).isEqualTo(first.weights());

      // Tampered weights under a fresh cache are refused.
      put(client, "team/tiny-shapes-vqa/weights.params", "not the weights".getBytes());
      ModelRepository fresh = new ModelRepository("s3://models/team/", dir.resolve("cache2"), () -> client);
      assertThatThrownBy(() -> fresh.fetch("tiny-shapes-vqa"))
          .isInstanceOf(ModelLoadException.class).hasMessageContaining("checksum mismatch");
    }
  }

  private static void put(S3Client client, String key, byte[] bytes) {
    client.putObject(b -> b.bucket("models").key(key), RequestBody.fromBytes(bytes));
  }
}
