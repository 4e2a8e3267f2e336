package dev.inferpipe.consumer.exported;

import dev.inferpipe.consumer.diffusion.NoiseSchedule;
import dev.inferpipe.consumer.diffusion.SchedulerConfig;
import dev.inferpipe.consumer.model.ModelLoadException;
import dev.inferpipe.core.job.JobCodec;
import dev.inferpipe.core.job.Sha256;
import dev.inferpipe.core.job.Task;
import dev.inferpipe.core.model.ComponentSpec;
import dev.inferpipe.core.model.ModelSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Stream;
import tools.jackson.databind.JsonNode;

/**
 * {@code ./pipeline model card <dir>}: writes an exported directory's {@code model.json}. The
 * task comes from the layout, sizes and limits from the configs (read as the loader reads
 * them), each graph's inputs from its ONNX metadata or, for TorchScript, from the layout's
 * contract (an edited card's TorchScript inputs are kept), and the SHA-256 of every file.
 */
public final class ModelCardWriter {
  /** The job schema's bounds, so a card never promises more than a job may ask. */
  static final int SCHEMA_MAX_STEPS = 200;
  static final int SCHEMA_MAX_NEW_TOKENS = 64;
  static final int DEFAULT_STEPS = 25;

  /** The inputs each role's contract feeds, in call order, for TorchScript graphs. */
  static final Map<String, Map<String, String>> TORCHSCRIPT_INPUTS = Map.of(
      ExportedModels.TEXT_ENCODER, ordered("input_ids", "int64"),
      ExportedModels.UNET, ordered("sample", "float32", "timestep", "int64",
          "encoder_hidden_states", "float32"),
      ExportedModels.VAE_DECODER, ordered("latent_sample", "float32"),
      ExportedModels.ENCODER, ordered("pixel_values", "float32", "input_ids", "int64",
          "attention_mask", "int64"),
      ExportedModels.DECODER, ordered("decoder_input_ids", "int64",
          "encoder_hidden_states", "float32"));

  /** A vqa encoder after a text_encoder/: the question arrives as hidden states. */
  static final Map<String, String> ENCODER_WITH_TEXT_ENCODER = ordered("pixel_values", "float32",
      "question_hidden_states", "float32", "attention_mask", "int64");

  /** What the model can act on, by the training code; copied into the card. */
  static final String UNDERSTANDS = "understands.json";

  private final JobCodec codec = new JobCodec();
  private final Map<String, String> newSources;

  public ModelCardWriter() {
    this(Map.of());
  }

  /** @param sources files that ship in a jar ({@code classpath:<resource>}), added to the card */
  public ModelCardWriter(Map<String, String> sources) {
    this.newSources = Map.copyOf(sources);
  }

  private static Map<String, String> ordered(String... pairs) {
    Map<String, String> map = new LinkedHashMap<>();
    for (int i = 0; i < pairs.length; i += 2) {
      map.put(pairs[i], pairs[i + 1]);
    }
    return map;
  }

  /** The card for {@code dir}; its model id is the directory's name. */
  public ModelSpec card(Path dir) {
    String id = dir.toAbsolutePath().normalize().getFileName().toString();
    Optional<ModelSpec> previous = previous(dir);
    boolean diffusers = Files.isRegularFile(dir.resolve("model_index.json"))
        || Files.isDirectory(dir.resolve(ExportedModels.UNET));
    boolean encoderDecoder = Files.isDirectory(dir.resolve(ExportedModels.ENCODER))
        && Files.isDirectory(dir.resolve(ExportedModels.DECODER));
    if (diffusers == encoderDecoder) {
      throw new ModelLoadException(id, diffusers
          ? "the directory has both a diffusers layout and encoder/ + decoder/"
          : "not an exported layout: expected model_index.json + unet/ (txt2img) or encoder/ +"
              + " decoder/ (vqa)");
    }
    Map<String, ComponentSpec> components = new LinkedHashMap<>();
    List<String> roles = diffusers
        ? List.of(ExportedModels.TEXT_ENCODER, ExportedModels.UNET, ExportedModels.VAE_DECODER)
        : List.of(ExportedModels.TEXT_ENCODER, ExportedModels.ENCODER, ExportedModels.DECODER);
    for (String role : roles) {
      component(id, dir, role, previous, encoderDecoder && Files.isDirectory(
          dir.resolve(ExportedModels.TEXT_ENCODER))).ifPresent(c -> components.put(role, c));
    }
    Map<String, String> files = checksums(dir);
    if (diffusers) {
      JsonNode scheduler = ExportedModels.readJson(id,
          dir.resolve("scheduler").resolve("scheduler_config.json"), codec, true);
      SchedulerConfig config = SchedulerConfig.from(scheduler);
      try {
        NoiseSchedule.fromConfig(config);
      } catch (IllegalArgumentException e) {
        throw new ModelLoadException(id, "scheduler: " + e.getMessage(), e);
      }
      DiffusersModel.Sizes sizes = DiffusersModel.sizes(id, dir, codec,
          components.containsKey(ExportedModels.VAE_DECODER));
      int maxSteps = Math.min(SCHEMA_MAX_STEPS, config.numTrainTimesteps());
      return new ModelSpec(id, Task.TXT2IMG, sizes.width(), sizes.height(), maxSteps,
          Math.min(DEFAULT_STEPS, maxSteps), List.of("ddim", "euler", "ddpm"), null,
          ModelSpec.FORMAT_DIFFUSERS, components, files, sources(id, previous, files),
          understands(id, dir));
    }
    EncoderDecoderModel.ImageProcessing image = EncoderDecoderModel.ImageProcessing.from(id,
        ExportedModels.readJson(id, dir.resolve("preprocessor_config.json"), codec, true));
    JsonNode generation = ExportedModels.readJson(id, dir.resolve("generation_config.json"), codec,
        true);
    int maxNewTokens = Math.min(SCHEMA_MAX_NEW_TOKENS,
        ExportedModels.positiveInt(id, generation, "max_new_tokens", 20, "generation_config.json"));
    return new ModelSpec(id, Task.VQA, image.width(), image.height(), null, null, null,
        maxNewTokens, ModelSpec.FORMAT_ENCODER_DECODER, components, files,
        sources(id, previous, files), understands(id, dir));
  }

  /**
   * {@code understands.json}, written by the training code: word lists by kind (colours, shapes,
   * positions, sizes, objects, words). Optional; every value must be a list of strings.
   */
  private Map<String, List<String>> understands(String id, Path dir) {
    Path file = dir.resolve(UNDERSTANDS);
    if (!Files.isRegularFile(file)) {
      return null;
    }
    JsonNode json = ExportedModels.readJson(id, file, codec, true);
    if (!json.isObject()) {
      throw new ModelLoadException(id, UNDERSTANDS + " must be an object of word lists");
    }
    Map<String, List<String>> lists = new LinkedHashMap<>();
    for (Map.Entry<String, JsonNode> entry : json.properties()) {
      if (!entry.getValue().isArray()) {
        throw new ModelLoadException(id, UNDERSTANDS + ": " + entry.getKey()
            + " must be a list of strings");
      }
      List<String> words = new ArrayList<>();
      for (JsonNode word : entry.getValue()) {
        if (!word.isString()) {
          throw new ModelLoadException(id, UNDERSTANDS + ": " + entry.getKey()
              + " must be a list of strings");
        }
        words.add(word.asString());
      }
      lists.put(entry.getKey(), List.copyOf(words));
    }
    return lists;
  }

  /** Writes {@link #card} to {@code dir/model.json} and returns it. */
  public ModelSpec write(Path dir) {
    ModelSpec spec = card(dir);
    try {
      Files.writeString(dir.resolve("model.json"), codec.encodePretty(spec) + "\n");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + dir.resolve("model.json"), e);
    }
    return spec;
  }

  /**
   * A previous card's {@code sources} for files still in the directory (kept, like inputs), plus
   * those given now; each must name a file of the directory and a {@code classpath:} resource.
   */
  private Map<String, String> sources(String id, Optional<ModelSpec> previous,
      Map<String, String> files) {
    Map<String, String> kept = new TreeMap<>();
    previous.map(ModelSpec::sources).ifPresent(s -> s.forEach((file, source) -> {
      if (files.containsKey(file)) {
        kept.put(file, source);
      }
    }));
    newSources.forEach((file, source) -> {
      if (!files.containsKey(file) || !source.startsWith("classpath:")) {
        throw new ModelLoadException(id, "--source " + file + "=" + source + ": the file must be in "
            + "the directory and the source a classpath:<resource>");
      }
      kept.put(file, source);
    });
    return kept.isEmpty() ? null : new LinkedHashMap<>(kept);
  }

  private Optional<ModelSpec> previous(Path dir) {
    Path card = dir.resolve("model.json");
    if (!Files.isRegularFile(card)) {
      return Optional.empty();
    }
    try {
      return Optional.of(codec.decodeModelSpec(Files.readAllBytes(card)));
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  /** @param questionEncoder a vqa model with a text_encoder: its encoder takes hidden states */
  private static Optional<ComponentSpec> component(String id, Path dir, String role,
      Optional<ModelSpec> previous, boolean questionEncoder) {
    Path roleDir = dir.resolve(role);
    if (!Files.isDirectory(roleDir)) {
      return Optional.empty();
    }
    boolean onnx = Files.isRegularFile(roleDir.resolve("model.onnx"));
    boolean torchScript = Files.isRegularFile(roleDir.resolve("model.pt"));
    if (onnx && torchScript) {
      throw new ModelLoadException(id, role + "/ holds both model.onnx and model.pt; keep one");
    }
    if (!onnx && !torchScript) {
      if (role.equals(ExportedModels.VAE_DECODER) || !Files.exists(roleDir.resolve("config.json"))) {
        return Optional.empty();
      }
      throw new ModelLoadException(id, role + "/ has no model.onnx or model.pt");
    }
    String file = role + "/" + (onnx ? "model.onnx" : "model.pt");
    LinkedHashMap<String, String> inputs = new LinkedHashMap<>();
    if (onnx) {
      try {
        OnnxSignature.read(dir.resolve(file)).inputs().forEach(t -> inputs.put(t.name(), t.dtype()));
      } catch (IOException e) {
        throw new ModelLoadException(id, role + ": " + e.getMessage(), e);
      }
    } else {
      Map<String, String> kept = previous
          .map(ModelSpec::components)
          .map(c -> c.get(role))
          .filter(c -> c.file().equals(file) && c.inputs() != null && !c.inputs().isEmpty())
          .map(ComponentSpec::inputs)
          .orElse(null);
      inputs.putAll(kept != null ? kept : questionEncoder && role.equals(ExportedModels.ENCODER)
          ? ENCODER_WITH_TEXT_ENCODER : TORCHSCRIPT_INPUTS.get(role));
    }
    return Optional.of(new ComponentSpec(file,
        onnx ? ComponentSpec.ONNX_RUNTIME : ComponentSpec.PYTORCH, inputs));
  }

  /** Every regular file but the card itself and hidden files, sorted by path. */
  static Map<String, String> checksums(Path dir) {
    Map<String, String> files = new TreeMap<>();
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path path : (Iterable<Path>) walk.filter(Files::isRegularFile)::iterator) {
        String relative = dir.relativize(path).toString().replace('\\', '/');
        // a cache's in-flight downloads are not part of the model
        if (relative.equals("model.json") || relative.startsWith(".") || relative.contains("/.")
            || relative.endsWith(".partial")) {
          continue;
        }
        files.put(relative, Sha256.hex(path));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + dir, e);
    }
    return new LinkedHashMap<>(files);
  }
}
