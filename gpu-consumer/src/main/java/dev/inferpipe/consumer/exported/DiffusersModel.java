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

  @Override
  public Prompts encodePrompts(NDManager m, List<String> prompts) {
    int count = prompts.size();
    int length = tokenizer.maxLength();
    long[] ids = new long[count * length];
    long[] mask = new long[count * length];
    int[] unknown = new int[count];
    for (int b = 0; b < count; b++) {
      TextTokenizer.Tokens tokens = tokenizer.encode(prompts.get(b), true);
      System.arraycopy(tokens.ids(), 0, ids, b * length, length);
      System.arraycopy(tokens.mask(), 0, mask, b * length, length);
      unknown[b] = knownWords.unknown(prompts.get(b), tokens.unknown());
    }
    Shape shape = new Shape(count, length);
    Map<String, NDArray> inputs = new HashMap<>();
    inputs.put("input_ids", m.create(ids, shape));
    inputs.put("attention_mask", m.create(mask, shape));
    inputs.put("token_type_ids", m.zeros(shape, DataType.INT64));
    NDArray hidden = textEncoder.call(m, inputs);
    if (hidden.getShape().dimension() != 3 || hidden.getShape().get(0) != count
        || hidden.getShape().get(1) != length) {
      throw new IllegalStateException("the text encoder returned shape " + hidden.getShape()
          + " for input_ids of shape " + shape + "; expected (" + count + ", " + length + ", D)");
    }
    return new Prompts(hidden, unknown);
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
