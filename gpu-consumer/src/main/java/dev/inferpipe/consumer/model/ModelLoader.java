package dev.inferpipe.consumer.model;

import ai.djl.Device;
import dev.inferpipe.consumer.exported.ExportedModels;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Tracer;

/** Turns fetched artifacts into a model in memory: its graphs through DJL Criteria. */
public final class ModelLoader {
  private final Placement placement;
  private final Tracer tracer;

  public ModelLoader(Placement placement, Tracer tracer) {
    this.placement = placement;
    this.tracer = tracer;
  }

  public ModelLoader(Device device, Tracer tracer) {
    this(Placement.on(device), tracer);
  }

  /** A loader whose component spans go nowhere (tools, tests). */
  public ModelLoader(Device device) {
    this(device, OpenTelemetry.noop().getTracer("inferpipe"));
  }

  public LoadedModel load(ModelArtifacts artifacts) {
    return ExportedModels.load(artifacts.spec(), artifacts.directory(), placement, tracer);
  }
}
