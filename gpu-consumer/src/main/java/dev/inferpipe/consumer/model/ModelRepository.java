package dev.inferpipe.consumer.model;

import dev.inferpipe.core.job.JobCodec;
import dev.inferpipe.core.job.Sha256;
import dev.inferpipe.core.model.ModelSpec;
import dev.inferpipe.core.s3.S3Uri;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.function.Supplier;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Resolves a model id to its {@code model.json} and weights from one root:
 * {@code classpath:models/} (bundled), a local directory, or {@code s3://bucket/prefix/}. S3
 * models are downloaded once into a local cache directory and reused while their checksum
 * matches; every source's weights are checked against {@code weights_sha256}.
 */
public final class ModelRepository {
  private final String root;
  private final Path cacheDir;
  private final Supplier<S3Client> s3;
  private final JobCodec codec = new JobCodec();

  /**
   * @param root {@code classpath:<prefix>/}, {@code file:<dir>/}, a plain directory path, or
   *     {@code s3://bucket/prefix/}
   */
  public ModelRepository(String root, Path cacheDir, Supplier<S3Client> s3) {
    this.root = root.endsWith("/") ? root : root + "/";
    this.cacheDir = cacheDir;
    this.s3 = s3;
  }

  public String root() {
    return root;
  }

  public ModelSpec spec(String modelId) {
    return codec.decodeModelSpec(read(modelId, "model.json"));
  }

  public ModelArtifacts fetch(String modelId) {
    ModelSpec spec = spec(modelId);
    if (!spec.modelId().equals(modelId)) {
      throw new ModelLoadException(modelId, "model.json declares model_id " + spec.modelId());
    }
    byte[] weights = root.startsWith("s3://") ? cachedS3Weights(spec) : read(modelId, spec.weights());
    verify(spec, weights);
    return new ModelArtifacts(spec, root + modelId + "/", weights);
  }

  private static void verify(ModelSpec spec, byte[] weights) {
    String actual = Sha256.hex(weights);
    if (spec.weightsSha256() != null && !spec.weightsSha256().equals(actual)) {
      throw new ModelLoadException(spec.modelId(), "weights checksum mismatch: model.json says "
          + spec.weightsSha256() + ", file has " + actual);
    }
  }

  private byte[] cachedS3Weights(ModelSpec spec) {
    Path cached = cacheDir.resolve(spec.modelId()).resolve(spec.weights());
    try {
      if (Files.exists(cached)) {
        byte[] bytes = Files.readAllBytes(cached);
        if (spec.weightsSha256() != null && spec.weightsSha256().equals(Sha256.hex(bytes))) {
          return bytes;
        }
      }
      byte[] bytes = read(spec.modelId(), spec.weights());
      verify(spec, bytes);
      Files.createDirectories(cached.getParent());
      Path partial = cached.resolveSibling(cached.getFileName() + ".partial");
      Files.write(partial, bytes);
      Files.move(partial, cached, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      return bytes;
    } catch (IOException e) {
      throw new UncheckedIOException("model cache " + cached, e);
    }
  }

  private byte[] read(String modelId, String file) {
    String relative = modelId + "/" + file;
    try {
      if (root.startsWith("classpath:")) {
        String resource = root.substring("classpath:".length()) + relative;
        try (InputStream in = ModelRepository.class.getClassLoader().getResourceAsStream(resource)) {
          if (in == null) {
            throw new ModelLoadException(modelId, "no " + resource + " on the classpath");
          }
          return in.readAllBytes();
        }
      }
      if (root.startsWith("s3://")) {
        S3Uri location = S3Uri.parse(root + relative)
            .orElseThrow(() -> new ModelLoadException(modelId, "bad model root " + root));
        return s3.get().getObjectAsBytes(b -> b.bucket(location.bucket()).key(location.key()))
            .asByteArray();
      }
      Path dir = Path.of(root.startsWith("file:") ? root.substring("file:".length()) : root);
      Path path = dir.resolve(modelId).resolve(file);
      if (!Files.exists(path)) {
        throw new ModelLoadException(modelId, "no " + path);
      }
      return Files.readAllBytes(path);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + relative + " from " + root, e);
    }
  }
}
