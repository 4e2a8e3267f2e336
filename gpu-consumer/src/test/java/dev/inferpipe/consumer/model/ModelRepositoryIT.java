package dev.inferpipe.consumer.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.inferpipe.consumer.TestModels;
import dev.inferpipe.core.job.Sha256;
import dev.inferpipe.core.job.Task;
import dev.inferpipe.embedded.EmbeddedS3;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/** The bundled exported models from each kind of source: classpath, a directory, S3. */
class ModelRepositoryIT {
  private static final String VQA = "tiny-shapes-vqa";

  @TempDir Path dir;

  private static byte[] resource(String name) throws Exception {
    try (var in = ModelRepositoryIT.class.getClassLoader().getResourceAsStream(name)) {
      assertThat(in).as(name).isNotNull();
      return in.readAllBytes();
    }
  }

  /** The bundled VQA model as a plain directory: its card plus every file it lists. */
  private Map<String, String> copyBundled(Path target) throws Exception {
    ModelArtifacts bundled = TestModels.bundled().fetch(VQA);
    Files.createDirectories(target);
    Files.write(target.resolve("model.json"), resource("models/" + VQA + "/model.json"));
    for (String file : bundled.spec().files().keySet()) {
      Files.createDirectories(target.resolve(file).getParent());
      Files.copy(bundled.directory().resolve(file), target.resolve(file));
    }
    return bundled.spec().files();
  }

  @Test
  void classpathModelsAreAssembledFromTheirJarsAndVerified() throws Exception {
    ModelArtifacts artifacts = TestModels.bundled().fetch("tiny-shapes-diffusion");
    assertThat(artifacts.spec().task()).isEqualTo(Task.TXT2IMG);
    assertThat(artifacts.source()).isEqualTo("classpath:models/tiny-shapes-diffusion/");
    assertThat(artifacts.spec().files()).containsKeys("unet/model.pt", "text_encoder/model.onnx",
        "tokenizer/tokenizer.json", "scheduler/scheduler_config.json", "understands.json");
    for (Map.Entry<String, String> file : artifacts.spec().files().entrySet()) {
      assertThat(Sha256.hex(artifacts.directory().resolve(file.getKey()))).as(file.getKey())
          .isEqualTo(file.getValue());
    }
    // The text encoder is the MiniLM graph of the langchain4j jar, unchanged.
    assertThat(artifacts.spec().sources()).containsEntry("text_encoder/model.onnx",
        "classpath:all-minilm-l6-v2.onnx");
    assertThat(Files.readAllBytes(artifacts.directory().resolve("text_encoder/model.onnx")))
        .isEqualTo(resource("all-minilm-l6-v2.onnx"));
    assertThat(artifacts.spec().understands()).containsKeys("colours", "shapes", "positions",
        "sizes", "words");
  }

  @Test
  void directoryModelsLoadInPlaceAndATamperedFileIsRefused() throws Exception {
    copyBundled(dir.resolve("models").resolve(VQA));
    ModelRepository repository = new ModelRepository(dir.resolve("models").toString(),
        dir.resolve("cache"), () -> null);
    ModelArtifacts artifacts = repository.fetch(VQA);
    assertThat(artifacts.directory()).isEqualTo(dir.resolve("models").resolve(VQA));
    assertThatThrownBy(() -> repository.fetch("no-such-model"))
        .isInstanceOf(ModelLoadException.class).hasMessageContaining("no-such-model");

    Files.writeString(dir.resolve("models").resolve(VQA).resolve("generation_config.json"), "{}");
    assertThatThrownBy(() -> repository.fetch(VQA)).isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("generation_config.json");
  }

  @Test
  void s3ModelsAreDownloadedOnceAndVerified() throws Exception {
    Path local = dir.resolve("local").resolve(VQA);
    Map<String, String> files = copyBundled(local);
    try (EmbeddedS3 s3 = EmbeddedS3.inMemory().start(); S3Client client = s3.client()) {
      s3.createBucket("models");
      put(client, "team/" + VQA + "/model.json", Files.readAllBytes(local.resolve("model.json")));
      for (String file : files.keySet()) {
        put(client, "team/" + VQA + "/" + file, Files.readAllBytes(local.resolve(file)));
      }
      Path cache = dir.resolve("cache");
      ModelRepository repository = new ModelRepository("s3://models/team/", cache, () -> client);

      ModelArtifacts first = repository.fetch(VQA);
      assertThat(first.source()).isEqualTo("s3://models/team/" + VQA + "/");
      assertThat(cache.resolve(VQA).resolve("decoder/model.onnx")).exists();

      // The decoder is gone from S3: the verified cached copy is used.
      client.deleteObject(b -> b.bucket("models").key("team/" + VQA + "/decoder/model.onnx"));
      assertThat(repository.fetch(VQA).directory()).isEqualTo(first.directory());

      // A tampered decoder under a fresh cache is refused.
      put(client, "team/" + VQA + "/decoder/model.onnx", "not the decoder".getBytes());
      ModelRepository fresh = new ModelRepository("s3://models/team/", dir.resolve("cache2"),
          () -> client);
      assertThatThrownBy(() -> fresh.fetch(VQA)).isInstanceOf(ModelLoadException.class)
          .hasMessageContaining("decoder/model.onnx");
    }
  }

  private static void put(S3Client client, String key, byte[] bytes) {
    client.putObject(b -> b.bucket("models").key(key), RequestBody.fromBytes(bytes));
  }
}
