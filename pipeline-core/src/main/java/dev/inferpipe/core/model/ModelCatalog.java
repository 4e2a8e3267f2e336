package dev.inferpipe.core.model;

import dev.inferpipe.core.job.JobCodec;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The models this deployment serves, read from each model's {@code model.json}: from a local
 * model directory ({@code <dir>/<model_id>/model.json}) when one is configured, else from the
 * classpath ({@code models/<model_id>/model.json}).
 */
public final class ModelCatalog {
  private final Map<String, ModelSpec> specs;

  private ModelCatalog(Map<String, ModelSpec> specs) {
    this.specs = Map.copyOf(specs);
  }

  public static ModelCatalog of(ModelSpec... specs) {
    Map<String, ModelSpec> byId = new LinkedHashMap<>();
    for (ModelSpec spec : specs) {
      byId.put(spec.modelId(), spec);
    }
    return new ModelCatalog(byId);
  }

  /** Loads each listed model's {@code model.json}; fails fast when one is missing or invalid. */
  public static ModelCatalog load(List<String> modelIds, Optional<Path> modelDir, JobCodec codec) {
    Map<String, ModelSpec> byId = new LinkedHashMap<>();
    for (String id : modelIds) {
      ModelSpec spec = codec.decodeModelSpec(read(id, modelDir));
      if (!spec.modelId().equals(id)) {
        throw new IllegalStateException(
            "model.json of '" + id + "' declares model_id '" + spec.modelId() + "'");
      }
      byId.put(id, spec);
    }
    return new ModelCatalog(byId);
  }

  private static byte[] read(String id, Optional<Path> modelDir) {
    try {
      if (modelDir.isPresent()) {
        return Files.readAllBytes(modelDir.get().resolve(id).resolve("model.json"));
      }
      String resource = "models/" + id + "/model.json";
      try (InputStream in = ModelCatalog.class.getClassLoader().getResourceAsStream(resource)) {
        if (in == null) {
          throw new IllegalStateException("no model.json for model '" + id + "' on the classpath");
        }
        return in.readAllBytes();
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read model.json of '" + id + "'", e);
    }
  }

  public Optional<ModelSpec> find(String modelId) {
    return Optional.ofNullable(specs.get(modelId));
  }

  public Collection<ModelSpec> all() {
    return specs.values();
  }
}
