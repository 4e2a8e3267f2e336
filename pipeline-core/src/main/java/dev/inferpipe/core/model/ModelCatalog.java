package dev.inferpipe.core.model;

import dev.inferpipe.core.job.JobCodec;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The models this deployment serves, read from each model's {@code model.json} in the
 * {@link ModelSource} ({@code INFERPIPE_MODEL_URI}).
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
  public static ModelCatalog load(List<String> modelIds, ModelSource source, JobCodec codec) {
    Map<String, ModelSpec> byId = new LinkedHashMap<>();
    for (String id : modelIds) {
      ModelSpec spec;
      try {
        spec = codec.decodeModelSpec(source.card(id));
      } catch (RuntimeException e) {
        throw new IllegalStateException("cannot read the card of model '" + id + "' from "
            + source.location(id) + ": " + e.getMessage(), e);
      }
      if (!id.equals(spec.modelId())) {
        throw new IllegalStateException(
            "model.json of '" + id + "' declares model_id '" + spec.modelId() + "'");
      }
      byId.put(id, spec);
    }
    return new ModelCatalog(byId);
  }

  public Optional<ModelSpec> find(String modelId) {
    return Optional.ofNullable(specs.get(modelId));
  }

  public Collection<ModelSpec> all() {
    return specs.values();
  }
}
