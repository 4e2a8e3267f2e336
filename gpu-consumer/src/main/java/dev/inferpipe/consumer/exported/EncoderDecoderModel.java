package dev.inferpipe.consumer.exported;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.inferpipe.consumer.model.ModelLoadException;
import dev.inferpipe.consumer.model.VqaModel;
import dev.inferpipe.core.job.JobCodec;
import dev.inferpipe.core.model.ModelSpec;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/**
 * A VQA model exported as two graphs (OFA / BLIP style): {@code encoder/} reads the image
 * (preprocessed as {@code preprocessor_config.json} says) and the tokenized question (or, when
 * the model has a {@code text_encoder/}, that sentence encoder's hidden states for it), and
 * {@code decoder/} gives next-token logits for the answer so far, starting from
 * {@code generation_config.json}'s {@code decoder_start_token_id}. No KV cache: each step runs
 * the decoder over the whole prefix, which is what a plain export supports.
 */
public final class EncoderDecoderModel implements VqaModel {
  private final ModelSpec spec;
  private final NDManager manager;
  private final TextTokenizer tokenizer;
  private final Graph textEncoder;
  private final Graph encoder;
  private final Graph decoder;
  private final ImageProcessing image;
  private final int startToken;
  private final int endToken;
  private final int maxNewTokens;
  private final KnownWords knownWords;

  private EncoderDecoderModel(ModelSpec spec, NDManager manager, TextTokenizer tokenizer,
      Graph textEncoder, Graph encoder, Graph decoder, ImageProcessing image, int startToken,
      int endToken, int maxNewTokens) {
    this.spec = spec;
    this.manager = manager;
    this.tokenizer = tokenizer;
    this.textEncoder = textEncoder;
    this.encoder = encoder;
    this.decoder = decoder;
    this.image = image;
    this.startToken = startToken;
    this.endToken = endToken;
    this.maxNewTokens = maxNewTokens;
    this.knownWords = KnownWords.of(spec);
  }

  /**
   * {@code preprocessor_config.json} as Hugging Face image processors read it.
   *
   * @param resample PIL's code: 0 nearest, 2 bilinear, 3 bicubic (others read as bicubic)
   */
  record ImageProcessing(boolean resize, int height, int width, int resample, boolean rescale,
      double rescaleFactor, boolean normalize, float[] mean, float[] std) {

    static ImageProcessing from(String id, JsonNode json) {
      JsonNode size = json.path("size");
      int height = ExportedModels.positiveInt(id, size, "height", 0, "preprocessor_config.json size");
      int width = ExportedModels.positiveInt(id, size, "width", 0, "preprocessor_config.json size");
      return new ImageProcessing(json.path("do_resize").asBoolean(true), height, width,
          json.path("resample").asInt(3), json.path("do_rescale").asBoolean(true),
          json.path("rescale_factor").asDouble(1 / 255.0), json.path("do_normalize").asBoolean(true),
          triple(id, json.path("image_mean"), "image_mean"),
          triple(id, json.path("image_std"), "image_std"));
    }

    private static float[] triple(String id, JsonNode node, String field) {
      if (!node.isArray() || node.size() != 3) {
        throw new ModelLoadException(id, "preprocessor_config.json: " + field
            + " must list 3 numbers (RGB)");
      }
      float[] values = new float[3];
      for (int i = 0; i < 3; i++) {
        values[i] = (float) node.get(i).asDouble();
        if (field.equals("image_std") && !(values[i] > 0)) {
          throw new ModelLoadException(id, "preprocessor_config.json: image_std must be positive");
        }
      }
      return values;
    }
  }

  /** @param textEncoder the question's sentence encoder, or null (the encoder reads token ids) */
  static EncoderDecoderModel create(ModelSpec spec, Path dir, Device device, JobCodec codec,
      Graph textEncoder, Graph encoder, Graph decoder) {
    String id = spec.modelId();
    ImageProcessing image = ImageProcessing.from(id,
        ExportedModels.readJson(id, dir.resolve("preprocessor_config.json"), codec, true));
    if (image.height() != spec.height() || image.width() != spec.width()) {
      throw new ModelLoadException(id, "preprocessor_config.json resizes to " + image.width() + "x"
          + image.height() + ", the card says " + spec.width() + "x" + spec.height());
    }
    JsonNode generation = ExportedModels.readJson(id, dir.resolve("generation_config.json"), codec,
        true);
    JsonNode start = generation.path("decoder_start_token_id");
    int startToken = start.isIntegralNumber() ? start.asInt()
        : ExportedModels.positiveInt(id, generation, "bos_token_id", 0, "generation_config.json");
    JsonNode eos = generation.path("eos_token_id");
    JsonNode firstEos = eos.isArray() && !eos.isEmpty() ? eos.get(0) : eos;
    if (!firstEos.isIntegralNumber()) {
      throw new ModelLoadException(id, "generation_config.json: eos_token_id is missing");
    }
    int maxNewTokens = ExportedModels.positiveInt(id, generation, "max_new_tokens", 20,
        "generation_config.json");
    TextTokenizer tokenizer = TextTokenizer.load(id, dir.resolve("tokenizer"), codec, 512);
    return new EncoderDecoderModel(spec, NDManager.newBaseManager(device, "PyTorch"), tokenizer,
        textEncoder, encoder, decoder, image, startToken, firstEos.asInt(), maxNewTokens);
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
  public BufferedImage resize(BufferedImage source) {
    if (!image.resize() || (source.getWidth() == image.width() && source.getHeight() == image.height()
        && source.getType() == BufferedImage.TYPE_INT_RGB)) {
      return source;
    }
    BufferedImage target = new BufferedImage(image.width(), image.height(),
        BufferedImage.TYPE_INT_RGB);
    Graphics2D g = target.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, switch (image.resample()) {
      case 0 -> RenderingHints.VALUE_INTERPOLATION_NEAREST_NEIGHBOR;
      case 2 -> RenderingHints.VALUE_INTERPOLATION_BILINEAR;
      default -> RenderingHints.VALUE_INTERPOLATION_BICUBIC;
    });
    g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
    g.drawImage(source, 0, 0, image.width(), image.height(), null);
    g.dispose();
    return target;
  }

  @Override
  public NDArray normalize(NDManager m, BufferedImage resized) {
    int h = resized.getHeight();
    int w = resized.getWidth();
    int plane = h * w;
    float[] data = new float[3 * plane];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int rgb = resized.getRGB(x, y);
        int[] channels = {(rgb >> 16) & 0xFF, (rgb >> 8) & 0xFF, rgb & 0xFF};
        for (int c = 0; c < 3; c++) {
          float v = channels[c];
          if (image.rescale()) {
            v = (float) (v * image.rescaleFactor());
          }
          if (image.normalize()) {
            v = (v - image.mean()[c]) / image.std()[c];
          }
          data[c * plane + y * w + x] = v;
        }
      }
    }
    return m.create(data, new Shape(1, 3, h, w));
  }

  @Override
  public Question question(NDManager m, String question) {
    // Not padded to model_max_length: the encoder takes the attention mask, so a question is
    // encoded at its own length and a batch is padded to its longest (what Hugging Face's
    // padding="longest" does); a 10-token question costs the sentence encoder 10 positions, not 24.
    return question(m, question, false);
  }

  /** The question's encoder inputs, padded to {@code model_max_length} or not. */
  Question question(NDManager m, String question, boolean padToMax) {
    TextTokenizer.Tokens tokens = tokenizer.encode(question, padToMax);
    int unknown = knownWords.unknown(question, tokens.unknown());
    Shape shape = new Shape(1, tokens.ids().length);
    NDArray ids = m.create(tokens.ids(), shape);
    NDArray mask = m.create(tokens.mask(), shape);
    if (textEncoder == null) {
      return new Question(List.of(ids, mask), unknown);
    }
    Map<String, NDArray> inputs = new HashMap<>();
    inputs.put("input_ids", ids);
    inputs.put("attention_mask", mask);
    inputs.put("token_type_ids", m.zeros(shape, ai.djl.ndarray.types.DataType.INT64));
    NDArray hidden = textEncoder.call(m, inputs);
    if (hidden.getShape().dimension() != 3 || hidden.getShape().get(1) != shape.get(1)) {
      throw new IllegalStateException("the text encoder returned shape " + hidden.getShape()
          + " for input_ids of shape " + shape);
    }
    return new Question(List.of(hidden, mask), unknown);
  }

  @Override
  public NDArray encode(List<NDArray> pixels, List<Question> questions) {
    int batch = pixels.size();
    NDManager m = pixels.get(0).getManager();
    Map<String, NDArray> inputs = new HashMap<>();
    inputs.put("pixel_values", rows(m, pixels));
    List<NDArray> first = new ArrayList<>();
    List<NDArray> masks = new ArrayList<>();
    for (Question q : questions) {
      first.add(q.inputs().get(0));
      masks.add(q.inputs().get(1));
    }
    // Questions of different lengths are right-padded (ids with the pad token, hidden states
    // with zeros); the attention mask hides the padding.
    long length = first.stream().mapToLong(a -> a.getShape().get(1)).max().orElse(0);
    inputs.put(textEncoder == null ? "input_ids" : "question_hidden_states",
        rows(m, padded(m, first, length, textEncoder == null ? tokenizer.padId() : 0)));
    inputs.put("attention_mask", rows(m, padded(m, masks, length, 0)));
    NDArray states = encoder.call(m, inputs);
    if (states.getShape().dimension() != 3 || states.getShape().get(0) != batch) {
      throw new IllegalStateException("the encoder returned shape " + states.getShape()
          + "; expected (" + batch + ", S, D)");
    }
    return states;
  }

  /** Each array right-padded along axis 1 to {@code length} with {@code value}. */
  private static List<NDArray> padded(NDManager m, List<NDArray> arrays, long length,
      long value) {
    List<NDArray> out = new ArrayList<>();
    for (NDArray a : arrays) {
      long missing = length - a.getShape().get(1);
      if (missing == 0) {
        out.add(a);
        continue;
      }
      long[] dims = a.getShape().getShape().clone();
      dims[1] = missing;
      NDArray pad = m.full(new Shape(dims), (float) value, a.getDataType());
      out.add(a.concat(pad, 1));
    }
    return out;
  }

  /** Concatenates (1, ...) arrays into (B, ...) in {@code m}: an empty head fixes the manager. */
  private static NDArray rows(NDManager m, List<NDArray> arrays) {
    if (arrays.size() == 1) {
      return arrays.get(0);
    }
    long[] dims = arrays.get(0).getShape().getShape().clone();
    dims[0] = 0;
    ai.djl.ndarray.NDList all = new ai.djl.ndarray.NDList();
    all.add(m.zeros(new Shape(dims), arrays.get(0).getDataType()));
    all.addAll(arrays);
    return ai.djl.ndarray.NDArrays.concat(all, 0);
  }

  @Override
  public int startToken() {
    return startToken;
  }

  @Override
  public int endToken() {
    return endToken;
  }

  @Override
  public int maxNewTokens() {
    return maxNewTokens;
  }

  @Override
  public float[][] nextTokens(NDManager m, NDArray contexts, List<List<Integer>> prefixes) {
    int batch = prefixes.size();
    int length = prefixes.stream().mapToInt(List::size).max().orElse(0);
    // Right-padded with the end token; the decoder is causal, so a row's last real position
    // never sees its padding, and the mask says which positions are real.
    long[] ids = new long[batch * length];
    long[] mask = new long[batch * length];
    java.util.Arrays.fill(ids, endToken);
    for (int b = 0; b < batch; b++) {
      List<Integer> prefix = prefixes.get(b);
      for (int t = 0; t < prefix.size(); t++) {
        ids[b * length + t] = prefix.get(t);
        mask[b * length + t] = 1;
      }
    }
    Shape shape = new Shape(batch, length);
    Map<String, NDArray> inputs = new HashMap<>();
    inputs.put("decoder_input_ids", m.create(ids, shape));
    inputs.put("encoder_hidden_states", contexts);
    inputs.put("decoder_attention_mask", m.create(mask, shape));
    inputs.put("encoder_attention_mask", m.ones(new Shape(batch, contexts.getShape().get(1)),
        ai.djl.ndarray.types.DataType.INT64));
    NDArray logits = decoder.call(m, inputs);
    Shape out = logits.getShape();
    if (out.dimension() != 3 || out.get(0) != batch || out.get(1) != length) {
      throw new IllegalStateException("the decoder returned shape " + out
          + " for decoder_input_ids of shape " + shape + "; expected (" + batch + ", " + length
          + ", V)");
    }
    float[][] probabilities = new float[batch][];
    for (int b = 0; b < batch; b++) {
      probabilities[b] = softmax(logits.get(b, prefixes.get(b).size() - 1).toFloatArray());
    }
    return probabilities;
  }

  /**
   * Below this, {@code Math.exp} is exactly 0.0 in double precision (its smallest subnormal is
   * exp(-744.4)); skipping the call changes no bit. A decoder that masks its vocabulary with -1e4
   * (the bundled one leaves 17 of 30,522 ids) then costs 17 exponentials a step, not 30,522.
   */
  private static final double EXP_UNDERFLOW = -746.0;

  /**
   * In double precision; a non-finite logit makes every probability NaN (the caller refuses it).
   * The few exponentials that do not underflow are computed twice (once for the sum, once for
   * the division) rather than kept in a vocabulary-sized array: same bits, no 240 KB a step.
   */
  static float[] softmax(float[] logits) {
    double max = Double.NEGATIVE_INFINITY;
    for (float v : logits) {
      max = Math.max(max, v);
    }
    double sum = 0;
    for (float v : logits) {
      double d = v - max;
      if (!(d < EXP_UNDERFLOW)) {
        sum += Math.exp(d);
      }
    }
    float[] p = new float[logits.length];
    if (!Double.isFinite(max) || !Double.isFinite(sum)) {
      // An infinite logit would leave every finite one "underflowing" to 0 and only its own
      // entry NaN; an argmax could then pick a 0-probability id. Every entry NaN is refused.
      java.util.Arrays.fill(p, Float.NaN);
      return p;
    }
    for (int i = 0; i < logits.length; i++) {
      double d = logits[i] - max;
      if (!(d < EXP_UNDERFLOW)) {
        p[i] = (float) (Math.exp(d) / sum);
      }
    }
    return p;
  }

  @Override
  public String tokenText(int token) {
    return tokenizer.decode(new long[] {token}, false);
  }

  @Override
  public String answer(List<Integer> tokens) {
    return tokenizer.decode(tokens.stream().mapToLong(Integer::longValue).toArray(), true).trim();
  }

  /** The graphs, for {@code model check}. */
  public List<Graph> graphs() {
    return textEncoder == null ? List.of(encoder, decoder) : List.of(textEncoder, encoder, decoder);
  }

  @Override
  public void close() {
    if (textEncoder != null) {
      textEncoder.close();
    }
    encoder.close();
    decoder.close();
    tokenizer.close();
    manager.close();
  }
}
