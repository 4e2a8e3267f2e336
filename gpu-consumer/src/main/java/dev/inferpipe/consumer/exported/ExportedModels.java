package dev.inferpipe.consumer.exported;

import ai.djl.Device;
import dev.inferpipe.consumer.model.LoadedModel;
import dev.inferpipe.consumer.model.Placement;
import dev.inferpipe.consumer.model.ModelLoadException;
import dev.inferpipe.core.job.JobCodec;
import dev.inferpipe.core.job.Task;
import dev.inferpipe.core.model.ComponentSpec;
import dev.inferpipe.core.model.ModelSpec;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Scope;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import tools.jackson.databind.JsonNode;

/**
 * Loads an exported model directory (files already verified against the card) into a
 * {@link DiffusersModel} or an {@link EncoderDecoderModel}. Each graph gets a
 * {@code model.load.component} span naming it and its engine. Any problem is a
 * {@link ModelLoadException} that names the model and the part.
 */
public final class ExportedModels {
  private ExportedModels() {}

  /** The roles of each layout, and what the task feeds each graph. */
  static final String TEXT_ENCODER = "text_encoder";
  static final String UNET = "unet";
  static final String VAE_DECODER = "vae_decoder";
  static final String ENCODER = "encoder";
  static final String DECODER = "decoder";

  public static LoadedModel load(ModelSpec spec, Path dir, Placement placement, Tracer tracer) {
    Device device = placement.device();
    JobCodec codec = new JobCodec();
    List<Graph> opened = new ArrayList<>();
    try {
      return switch (spec.format()) {
        case ModelSpec.FORMAT_DIFFUSERS -> {
          requireTask(spec, Task.TXT2IMG);
          Graph text = graph(spec, dir, TEXT_ENCODER, placement, tracer, opened,
              Set.of("input_ids"), Set.of("attention_mask", "token_type_ids"), true);
          Graph unet = graph(spec, dir, UNET, placement, tracer, opened,
              Set.of("sample", "timestep", "encoder_hidden_states"), Set.of(), true);
          Graph vae = graph(spec, dir, VAE_DECODER, placement, tracer, opened,
              Set.of("latent_sample"), Set.of(), false);
          yield DiffusersModel.create(spec, dir, device, codec, text, unet, vae);
        }
        case ModelSpec.FORMAT_ENCODER_DECODER -> {
          requireTask(spec, Task.VQA);
          // With a text_encoder/ (a pretrained sentence encoder for the question), the encoder
          // takes its hidden states; without one, the question's token ids.
          Graph text = graph(spec, dir, TEXT_ENCODER, placement, tracer, opened,
              Set.of("input_ids"), Set.of("attention_mask", "token_type_ids"), false);
          Graph encoder = graph(spec, dir, ENCODER, placement, tracer, opened,
              Set.of("pixel_values", text == null ? "input_ids" : "question_hidden_states"),
              Set.of("attention_mask"), true);
          Graph decoder = graph(spec, dir, DECODER, placement, tracer, opened,
              Set.of("decoder_input_ids", "encoder_hidden_states"),
              Set.of("decoder_attention_mask", "encoder_attention_mask"), true);
          yield EncoderDecoderModel.create(spec, dir, device, codec, text, encoder, decoder);
        }
        default -> throw new ModelLoadException(spec.modelId(), "unknown format '" + spec.format()
            + "' (diffusers or encoder-decoder)");
      };
    } catch (RuntimeException e) {
      opened.forEach(Graph::close);
      throw e instanceof ModelLoadException ? e
          : new ModelLoadException(spec.modelId(), e.getMessage(), e);
    }
  }

  private static void requireTask(ModelSpec spec, Task task) {
    if (spec.task() != task) {
      throw new ModelLoadException(spec.modelId(), "format " + spec.format() + " serves "
          + task.wireName() + ", but the card says task " + spec.task().wireName());
    }
  }

  private static Graph graph(ModelSpec spec, Path dir, String role, Placement placement,
      Tracer tracer,
      List<Graph> opened, Set<String> required, Set<String> optional, boolean mandatory) {
    ComponentSpec component = spec.components() == null ? null : spec.components().get(role);
    if (component == null) {
      if (mandatory) {
        throw new ModelLoadException(spec.modelId(), "missing component '" + role
            + "' (model.json has no components." + role + ")");
      }
      return null;
    }
    Span span = tracer.spanBuilder("model.load.component")
        .setAttribute("model.id", spec.modelId())
        .setAttribute("model.component", role)
        .setAttribute("model.engine", component.engine())
        .setAttribute("model.file", component.file())
        .startSpan();
    try (Scope ignored = span.makeCurrent()) {
      Graph graph = Graph.load(spec.modelId(), role, dir, component, placement, required,
          optional);
      opened.add(graph);
      span.setAttribute("model.inputs", graph.inputs().toString());
      return graph;
    } catch (RuntimeException e) {
      span.recordException(e);
      span.setStatus(StatusCode.ERROR, e.getMessage());
      throw e;
    } finally {
      span.end();
    }
  }

  /** Reads a JSON config file; an absent optional one reads as an empty object. */
  static JsonNode readJson(String modelId, Path file, JobCodec codec, boolean required) {
    if (!Files.isRegularFile(file)) {
      if (required) {
        throw new ModelLoadException(modelId, "missing " + file.getParent().getFileName() + "/"
            + file.getFileName());
      }
      return codec.newObject();
    }
    try {
      JsonNode node = codec.parseTree(Files.readAllBytes(file));
      if (!node.isObject()) {
        throw new ModelLoadException(modelId, file.getFileName() + " is not a JSON object");
      }
      return node;
    } catch (IOException | RuntimeException e) {
      if (e instanceof ModelLoadException m) {
        throw m;
      }
      throw new ModelLoadException(modelId, "cannot read " + file.getFileName() + ": "
          + e.getMessage(), e);
    }
  }

  /** A positive integer field; absent gives {@code fallback}, anything else is refused. */
  static int positiveInt(String modelId, JsonNode node, String field, int fallback, String where) {
    JsonNode value = node.path(field);
    if (value.isMissingNode() || value.isNull()) {
      if (fallback > 0) {
        return fallback;
      }
      throw new ModelLoadException(modelId, where + ": " + field + " is missing");
    }
    if (!value.isIntegralNumber() || value.asLong() < 1 || value.asLong() > 1 << 20) {
      throw new ModelLoadException(modelId, where + ": " + field + " must be a positive integer, got "
          + value);
    }
    return value.asInt();
  }
}
