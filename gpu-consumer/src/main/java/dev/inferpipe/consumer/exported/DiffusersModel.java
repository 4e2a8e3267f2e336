package dev.inferpipe.consumer.exported;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.inferpipe.consumer.diffusion.NoiseSchedule;
import dev.inferpipe.consumer.diffusion.SchedulerConfig;
import dev.inferpipe.consumer.model.DiffusionModel;
import dev.inferpipe.consumer.model.ModelLoadException;
import dev.inferpipe.core.job.JobCodec;
import dev.inferpipe.core.model.ModelSpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/**
 * A text-to-image model in the diffusers layout: {@code tokenizer/} and {@code text_encoder/}
 * turn prompts into hidden states, {@code unet/} predicts noise from (sample, timestep, hidden
 * states) once per step under the {@code scheduler/} config, and {@code vae_decoder/} (if there
 * is one) decodes latents divided by its {@code scaling_factor}. Without a VAE the model samples
 * in pixel space and its unet must have 3 channels.
 */
public final class DiffusersModel implements DiffusionModel {
  private final ModelSpec spec;
  private final NDManager manager;
  private final TextTokenizer tokenizer;
  private final Graph textEncoder;
  private final Graph unet;
  private final Graph vae;
  private final NoiseSchedule schedule;
  private final SampleShape sampleShape;
  private final float scalingFactor;
  private final KnownWords knownWords;
  private final EncodedTexts encoded = new EncodedTexts(EncodedTexts.DEFAULT_BUDGET_BYTES);

  private DiffusersModel(ModelSpec spec, NDManager manager, TextTokenizer tokenizer,
      Graph textEncoder, Graph unet, Graph vae, NoiseSchedule schedule, SampleShape sampleShape,
      float scalingFactor) {
    this.spec = spec;
    this.manager = manager;
    this.tokenizer = tokenizer;
    this.textEncoder = textEncoder;
    this.unet = unet;
    this.vae = vae;
    this.schedule = schedule;
    this.sampleShape = sampleShape;
    this.scalingFactor = scalingFactor;
    this.knownWords = KnownWords.of(spec);
  }

  static DiffusersModel create(ModelSpec spec, Path dir, Device device, JobCodec codec,
      Graph textEncoder, Graph unet, Graph vae) {
    String id = spec.modelId();
    ExportedModels.readJson(id, dir.resolve("model_index.json"), codec, true);
    NoiseSchedule schedule;
    try {
      schedule = NoiseSchedule.fromConfig(SchedulerConfig.from(ExportedModels.readJson(id,
          dir.resolve("scheduler").resolve("scheduler_config.json"), codec, true)));
    } catch (IllegalArgumentException e) {
      throw new ModelLoadException(id, "scheduler: " + e.getMessage(), e);
    }
    Sizes sizes = sizes(id, dir, codec, vae != null);
    if (sizes.height() != spec.height() || sizes.width() != spec.width()) {
      throw new ModelLoadException(id, "the configs give " + sizes.width() + "x" + sizes.height()
          + " images, the card says " + spec.width() + "x" + spec.height());
    }
    TextTokenizer tokenizer = TextTokenizer.load(id, dir.resolve("tokenizer"), codec, 77);
    NDManager manager = NDManager.newBaseManager(device, "PyTorch");
    return new DiffusersModel(spec, manager, tokenizer, textEncoder, unet, vae, schedule,
        new SampleShape(sizes.channels(), sizes.sampleHeight(), sizes.sampleWidth()),
        sizes.scalingFactor());
  }

  /** Sample and image sizes, read as diffusers reads the component configs. */
  record Sizes(int channels, int sampleHeight, int sampleWidth, int height, int width,
      float scalingFactor) {}

  static Sizes sizes(String id, Path dir, JobCodec codec, boolean hasVae) {
    JsonNode unet = ExportedModels.readJson(id, dir.resolve("unet").resolve("config.json"), codec,
        true);
    int channels = ExportedModels.positiveInt(id, unet, "in_channels", 0, "unet/config.json");
    JsonNode size = unet.path("sample_size");
    int sampleHeight;
    int sampleWidth;
    if (size.isArray() && size.size() == 2) {
      sampleHeight = size.get(0).asInt();
      sampleWidth = size.get(1).asInt();
    } else {
      sampleHeight = ExportedModels.positiveInt(id, unet, "sample_size", 0, "unet/config.json");
      sampleWidth = sampleHeight;
    }
    if (sampleHeight < 1 || sampleWidth < 1) {
      throw new ModelLoadException(id, "unet/config.json: sample_size must be positive");
    }
    if (!hasVae) {
      if (channels != 3) {
        throw new ModelLoadException(id, "without a vae_decoder the unet samples pixels and "
            + "needs in_channels 3, not " + channels);
      }
      return new Sizes(channels, sampleHeight, sampleWidth, sampleHeight, sampleWidth, 1f);
    }
    JsonNode vae = ExportedModels.readJson(id, dir.resolve("vae_decoder").resolve("config.json"),
        codec, true);
    int latentChannels = ExportedModels.positiveInt(id, vae, "latent_channels", channels,
        "vae_decoder/config.json");
    if (latentChannels != channels) {
      throw new ModelLoadException(id, "vae_decoder latent_channels " + latentChannels
          + " differs from unet in_channels " + channels);
    }
    JsonNode blocks = vae.path("block_out_channels");
    int factor = blocks.isArray() && !blocks.isEmpty() ? 1 << (blocks.size() - 1) : 8;
    double scaling = vae.path("scaling_factor").asDouble(0.18215);
    if (!(scaling > 0) || Double.isInfinite(scaling)) {
      throw new ModelLoadException(id, "vae_decoder/config.json: scaling_factor must be positive");
    }
    return new Sizes(channels, sampleHeight, sampleWidth, sampleHeight * factor,
        sampleWidth * factor, (float) scaling);
  }

  @Override
  public ModelSpec spec() {
    return spec;
  }

  @Override
  public NDManager workspace() {
    return manager;
  }

  @Override
  public NoiseSchedule schedule() {
    return schedule;
  }

  @Override
  public SampleShape sampleShape() {
    return sampleShape;
  }

  /**
   * Each distinct text not encoded recently goes through the text encoder once, all of them in
   * one call; the others' states come from {@link EncodedTexts}. A batch of jobs with the empty
   * negative prompt then encodes its prompts and one empty row, and later jobs not even that.
   */
  @Override
  public Prompts encodePrompts(NDManager m, List<String> prompts) {
    int count = prompts.size();
    int length = tokenizer.maxLength();
    int[] unknown = new int[count];
    Map<String, float[]> rows = new HashMap<>();
    List<String> missing = new ArrayList<>();
    List<TextTokenizer.Tokens> missingTokens = new ArrayList<>();
    for (int b = 0; b < count; b++) {
      String text = prompts.get(b);
      TextTokenizer.Tokens tokens = tokenizer.encode(text, true);
      unknown[b] = knownWords.unknown(text, tokens.unknown());
      if (!rows.containsKey(text)) {
        float[] known = encoded.get(text).orElse(null);
        rows.put(text, known);
        if (known == null) {
          missing.add(text);
          missingTokens.add(tokens);
        }
      }
    }
    if (!missing.isEmpty()) {
      float[][] fresh = encodeRows(m, missingTokens, length);
      for (int i = 0; i < fresh.length; i++) {
        rows.put(missing.get(i), fresh[i]);
        encoded.put(missing.get(i), fresh[i]);
      }
    }
    int rowSize = rows.get(prompts.get(0)).length;
    float[] data = new float[count * rowSize];
    for (int b = 0; b < count; b++) {
      System.arraycopy(rows.get(prompts.get(b)), 0, data, b * rowSize, rowSize);
    }
    return new Prompts(m.create(data, new Shape(count, length, rowSize / length)), unknown,
        missing.size());
  }

  /** How many texts' states are kept (for tests). */
  int encodedTexts() {
    return encoded.size();
  }

  /** One text-encoder call over {@code tokens}: each row's (L, D) states, flattened. */
  private float[][] encodeRows(NDManager m, List<TextTokenizer.Tokens> tokens, int length) {
    int count = tokens.size();
    long[] ids = new long[count * length];
    long[] mask = new long[count * length];
    for (int b = 0; b < count; b++) {
      System.arraycopy(tokens.get(b).ids(), 0, ids, b * length, length);
      System.arraycopy(tokens.get(b).mask(), 0, mask, b * length, length);
    }
    Shape shape = new Shape(count, length);
    Map<String, NDArray> inputs = new HashMap<>();
    inputs.put("input_ids", m.create(ids, shape));
    inputs.put("attention_mask", m.create(mask, shape));
    inputs.put("token_type_ids", m.zeros(shape, DataType.INT64));
    float[] all;
    try (NDManager scratch = m.newSubManager()) {
      NDArray hidden = textEncoder.call(scratch, inputs);
      if (hidden.getShape().dimension() != 3 || hidden.getShape().get(0) != count
          || hidden.getShape().get(1) != length) {
        throw new IllegalStateException("the text encoder returned shape " + hidden.getShape()
            + " for input_ids of shape " + shape + "; expected (" + count + ", " + length
            + ", D)");
      }
      all = hidden.toFloatArray();
    }
    int rowSize = all.length / count;
    float[][] rows = new float[count][];
    for (int b = 0; b < count; b++) {
      rows[b] = java.util.Arrays.copyOfRange(all, b * rowSize, (b + 1) * rowSize);
    }
    return rows;
  }

  @Override
  public NDArray predictNoise(NDArray x, long[] timesteps, NDArray conditioning) {
    NDManager m = x.getManager();
    long batch = x.getShape().get(0);
    if (timesteps.length != batch) {
      throw new IllegalArgumentException(timesteps.length + " timesteps for " + batch + " samples");
    }
    Map<String, NDArray> inputs = new HashMap<>();
    inputs.put("sample", x);
    inputs.put("timestep", m.create(timesteps, new Shape(batch)));
    inputs.put("encoder_hidden_states", conditioning);
    return unet.call(m, inputs);
  }

  @Override
  public NDArray decode(NDArray samples) {
    if (vae == null) {
      return samples;
    }
    NDManager m = samples.getManager();
    return vae.call(m, Map.of("latent_sample", samples.div(scalingFactor)));
  }

  TextTokenizer tokenizer() {
    return tokenizer;
  }

  /** The graphs, for {@code model check}. */
  public List<Graph> graphs() {
    return vae == null ? List.of(textEncoder, unet) : List.of(textEncoder, unet, vae);
  }

  @Override
  public void close() {
    graphs().forEach(Graph::close);
    tokenizer.close();
    manager.close();
  }
}
