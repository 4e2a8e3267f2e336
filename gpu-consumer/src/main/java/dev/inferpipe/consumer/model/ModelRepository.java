package dev.inferpipe.consumer.model;

import dev.inferpipe.core.job.JobCodec;
import dev.inferpipe.core.job.Sha256;
import dev.inferpipe.core.model.ComponentSpec;
import dev.inferpipe.core.model.ModelSource;
import dev.inferpipe.core.model.ModelSpec;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.function.Supplier;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Resolves a model id to its card and files from one {@link ModelSource} root
 * ({@code classpath:models/}, a local directory, or {@code s3://bucket/prefix/}) and checks every
 * file against the SHA-256 the card records. A local directory is used in place; classpath and
 * S3 models are copied once into the cache directory, file by file, and a cached file is reused
 * while its checksum matches.
 */
public final class ModelRepository {
  private final ModelSource source;
  private final Path cacheDir;
  private final JobCodec codec = new JobCodec();

  /**
   * @param root {@code classpath:<prefix>/}, {@code file:<dir>/}, a plain directory path, or
   *     {@code s3://bucket/prefix/}
   */
  public ModelRepository(String root, Path cacheDir, Supplier<S3Client> s3) {
    this.source = ModelSource.of(root, s3);
    this.cacheDir = cacheDir;
  }

  public String root() {
    return source.root();
  }

  public ModelSpec spec(String modelId) {
    try {
      return codec.decodeModelSpec(source.card(modelId));
    } catch (ModelSource.ModelNotFoundException e) {
      throw new ModelLoadException(modelId, "no model.json at " + source.location(modelId), e);
    } catch (RuntimeException e) {
      throw new ModelLoadException(modelId, "model.json is not a valid card: " + e.getMessage(), e);
    }
  }

  public ModelArtifacts fetch(String modelId) {
    ModelSpec spec = spec(modelId);
    if (!modelId.equals(spec.modelId())) {
      throw new ModelLoadException(modelId, "model.json declares model_id " + spec.modelId());
    }
    if (spec.format() == null) {
      throw new ModelLoadException(modelId, "model.json names no format; write it with"
          + " ./pipeline model card");
    }
    return exported(spec);
  }

  private ModelArtifacts exported(ModelSpec spec) {
    String id = spec.modelId();
    Map<String, String> files = spec.files();
    if (files == null || files.isEmpty()) {
      throw new ModelLoadException(id, "model.json lists no files; write it with ./pipeline model card");
    }
    if (spec.components() != null) {
      for (Map.Entry<String, ComponentSpec> component : spec.components().entrySet()) {
        if (!files.containsKey(component.getValue().file())) {
          throw new ModelLoadException(id, "component '" + component.getKey() + "' file "
              + component.getValue().file() + " has no checksum in model.json files");
        }
      }
    }
    Map<String, String> provided = spec.sources() == null ? Map.of() : spec.sources();
    for (Map.Entry<String, String> entry : provided.entrySet()) {
      if (!files.containsKey(entry.getKey()) || !entry.getValue().startsWith("classpath:")) {
        throw new ModelLoadException(id, "sources: " + entry.getKey() + " must be a listed file "
            + "with a classpath:<resource> source, got " + entry.getValue());
      }
    }
    // A local directory is used in place when it holds every file; otherwise (classpath, S3, or
    // files the card says ship in a jar) the model is assembled in the cache directory.
    Path local = source.localDirectory(id).orElse(null);
    boolean complete = local != null;
    for (String file : local == null ? java.util.Set.<String>of() : files.keySet()) {
      if (!Files.isRegularFile(inside(id, local, file))) {
        if (!provided.containsKey(file)) {
          throw new ModelLoadException(id, "missing file " + file + " in " + local);
        }
        complete = false;
      }
    }
    local = complete ? local : null;
    Path dir = local != null ? local : cacheDir.resolve(id);
    long bytes = 0;
    for (Map.Entry<String, String> file : files.entrySet()) {
      Path path = inside(id, dir, file.getKey());
      if (local != null) {
        checksum(id, file.getKey(), file.getValue(), sha256(path));
      } else if (!Files.isRegularFile(path) || !file.getValue().equals(sha256(path))) {
        download(id, file.getKey(), file.getValue(), path, provided.get(file.getKey()));
      }
      bytes += size(path);
    }
    return new ModelArtifacts(spec, source.location(id), dir, bytes);
  }

  private static Path inside(String id, Path dir, String file) {
    Path path = dir.resolve(file).normalize();
    if (!path.startsWith(dir.normalize()) || file.isEmpty()) {
      throw new ModelLoadException(id, "file name '" + file + "' leaves the model directory");
    }
    return path;
  }

  /** @param resource {@code classpath:<resource>} when the card says the file ships in a jar */
  private void download(String id, String file, String expected, Path target, String resource) {
    Path partial = target.resolveSibling(target.getFileName() + ".partial");
    try {
      Files.createDirectories(target.getParent());
      MessageDigest digest = Sha256.digest();
      try (InputStream in = resource != null ? openResource(id, file, resource) : open(id, file);
          OutputStream out = Files.newOutputStream(partial)) {
        byte[] buffer = new byte[1 << 16];
        for (int n; (n = in.read(buffer)) > 0; ) {
          digest.update(buffer, 0, n);
          out.write(buffer, 0, n);
        }
      }
      checksum(id, file, expected, HexFormat.of().formatHex(digest.digest()));
      Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING,
          StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new ModelLoadException(id, "cannot fetch " + file + " from "
          + source.location(id) + ": " + e.getMessage(), e);
    } finally {
      try {
        Files.deleteIfExists(partial);
      } catch (IOException ignored) {
        // A leftover partial file is overwritten by the next download.
      }
    }
  }

  private static InputStream openResource(String id, String file, String resource) {
    String name = resource.substring("classpath:".length());
    InputStream in = ModelRepository.class.getClassLoader().getResourceAsStream(name);
    if (in == null) {
      throw new ModelLoadException(id, "missing file " + file + ": its source " + resource
          + " is not on the classpath");
    }
    return in;
  }

  private InputStream open(String id, String file) {
    try {
      return source.open(id, file);
    } catch (ModelSource.ModelNotFoundException e) {
      throw new ModelLoadException(id, "missing file " + file + " at " + source.location(id), e);
    }
  }

  private static void checksum(String id, String file, String expected, String actual) {
    if (!actual.equals(expected)) {
      throw new ModelLoadException(id, "checksum mismatch for " + file + ": model.json says "
          + expected + ", the file has " + actual);
    }
  }

  private static String sha256(Path path) {
    try {
      return Sha256.hex(path);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + path, e);
    }
  }

  private static long size(Path path) {
    try {
      return Files.size(path);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
