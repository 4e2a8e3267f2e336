package dev.inferpipe.core.model;

import dev.inferpipe.core.s3.S3Uri;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Supplier;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;

/**
 * Where models live: {@code INFERPIPE_MODEL_URI}, one root holding {@code <model_id>/model.json}
 * and the model's files. The root is {@code classpath:<prefix>/} (the bundled models), a local
 * directory ({@code file:<dir>/} or a plain path) or {@code s3://bucket/prefix/}. The API and the
 * consumer read cards through this one class, so both see the same models.
 */
public final class ModelSource {
  /** The environment variable both services read. */
  public static final String MODEL_URI_ENV = "INFERPIPE_MODEL_URI";
  public static final String DEFAULT_ROOT = "classpath:models/";

  private final String root;
  private final Supplier<S3Client> s3;

  private ModelSource(String root, Supplier<S3Client> s3) {
    this.root = root.endsWith("/") ? root : root + "/";
    this.s3 = s3;
  }

  /** @param s3 called only for an {@code s3://} root */
  public static ModelSource of(String root, Supplier<S3Client> s3) {
    if (root.startsWith("s3://") && S3Uri.parse(root + "x").isEmpty()) {
      throw new IllegalArgumentException(MODEL_URI_ENV + " is not an s3://bucket/prefix/ URI: " + root);
    }
    return new ModelSource(root, s3);
  }

  public String root() {
    return root;
  }

  public boolean isS3() {
    return root.startsWith("s3://");
  }

  public boolean isClasspath() {
    return root.startsWith("classpath:");
  }

  /** The local directory of {@code modelId} when the root is a directory. */
  public java.util.Optional<Path> localDirectory(String modelId) {
    if (isS3() || isClasspath()) {
      return java.util.Optional.empty();
    }
    String dir = root.startsWith("file:") ? root.substring("file:".length()) : root;
    return java.util.Optional.of(Path.of(dir).resolve(modelId));
  }

  /** Where {@code modelId}'s files come from, for spans and messages. */
  public String location(String modelId) {
    return root + modelId + "/";
  }

  /** The model's card. */
  public byte[] card(String modelId) {
    return read(modelId, "model.json");
  }

  /**
   * One file of a model, whole.
   *
   * @throws ModelNotFoundException when the source has no such file
   */
  public byte[] read(String modelId, String file) {
    try (InputStream in = open(modelId, file)) {
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + location(modelId) + file, e);
    }
  }

  /** Streams one file of a model (large graphs are copied, never held in memory). */
  public InputStream open(String modelId, String file) {
    if (file.startsWith("/") || file.contains("..") || file.contains("\\")) {
      throw new ModelNotFoundException(modelId, "file name '" + file + "' leaves the model directory");
    }
    String relative = modelId + "/" + file;
    if (isClasspath()) {
      String resource = root.substring("classpath:".length()) + relative;
      InputStream in = ModelSource.class.getClassLoader().getResourceAsStream(resource);
      if (in == null) {
        throw new ModelNotFoundException(modelId, "no " + resource + " on the classpath");
      }
      return in;
    }
    if (isS3()) {
      S3Uri location = S3Uri.parse(root + relative).orElseThrow();
      try {
        return s3.get().getObject(b -> b.bucket(location.bucket()).key(location.key()));
      } catch (NoSuchKeyException e) {
        throw new ModelNotFoundException(modelId, "no " + location);
      }
    }
    Path path = localDirectory(modelId).orElseThrow().resolve(file);
    if (!Files.isRegularFile(path)) {
      throw new ModelNotFoundException(modelId, "no " + path);
    }
    try {
      return Files.newInputStream(path);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + path, e);
    }
  }

  /** A model's card or one of its files is not where the root says. */
  public static final class ModelNotFoundException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ModelNotFoundException(String modelId, String message) {
      super("model '" + modelId + "': " + message);
    }
  }
}
