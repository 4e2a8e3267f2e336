package dev.inferpipe.consumer.exported;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.inferpipe.consumer.model.ModelLoadException;
import dev.inferpipe.core.job.JobCodec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/**
 * A model's {@code tokenizer/} directory: the Hugging Face {@code tokenizer.json} (run by the
 * tokenizers library through DJL, offline) and {@code tokenizer_config.json}'s
 * {@code model_max_length} and {@code pad_token}. Padding is done here, with the pad token's own
 * id, because the library pads with id 0 unless tokenizer.json configures padding.
 */
public final class TextTokenizer implements AutoCloseable {
  /** Longer limits (some configs say 10^30 for "none") are capped to this. */
  static final int MAX_LENGTH_CAP = 512;

  private final HuggingFaceTokenizer tokenizer;
  private final int maxLength;
  private final long padId;
  private final long unknownId;

  private TextTokenizer(HuggingFaceTokenizer tokenizer, int maxLength, long padId, long unknownId) {
    this.tokenizer = tokenizer;
    this.maxLength = maxLength;
    this.padId = padId;
    this.unknownId = unknownId;
  }

  /** An encoded text: ids and attention mask of the same length. */
  public record Tokens(long[] ids, long[] mask, int unknown) {}

  public static TextTokenizer load(String modelId, Path dir, JobCodec codec, int defaultMaxLength) {
    Path json = dir.resolve("tokenizer.json");
    if (!Files.isRegularFile(json)) {
      throw new ModelLoadException(modelId, "tokenizer: no tokenizer/tokenizer.json");
    }
    JsonNode config = ExportedModels.readJson(modelId, dir.resolve("tokenizer_config.json"), codec,
        false);
    long configured = config.path("model_max_length").asLong(defaultMaxLength);
    int maxLength = (int) Math.max(1, Math.min(MAX_LENGTH_CAP, configured));
    HuggingFaceTokenizer tokenizer;
    try {
      tokenizer = HuggingFaceTokenizer.newInstance(json, Map.of(
          "padding", "false",
          "truncation", "true",
          "maxLength", String.valueOf(maxLength),
          "modelMaxLength", String.valueOf(maxLength)));
    } catch (IOException | RuntimeException e) {
      throw new ModelLoadException(modelId, "tokenizer: tokenizer.json cannot be read: "
          + e.getMessage(), e);
    }
    JsonNode tokenizerJson = ExportedModels.readJson(modelId, json, codec, true);
    String padToken = tokenText(config.path("pad_token"));
    long padId = padToken == null ? 0 : idOf(tokenizer, padToken).orElseThrow(() ->
        new ModelLoadException(modelId, "tokenizer: pad_token '" + padToken + "' is not a token"));
    String unknownToken = tokenText(tokenizerJson.path("model").path("unk_token"));
    long unknownId = unknownToken == null ? -1 : idOf(tokenizer, unknownToken).orElse(-1L);
    return new TextTokenizer(tokenizer, maxLength, padId, unknownId);
  }

  /** tokenizer_config.json writes a token as a string or as {"content": ...}. */
  private static String tokenText(JsonNode node) {
    if (node.isString()) {
      return node.asString();
    }
    if (node.isObject() && node.path("content").isString()) {
      return node.path("content").asString();
    }
    return null;
  }

  private static java.util.Optional<Long> idOf(HuggingFaceTokenizer tokenizer, String token) {
    long[] ids = tokenizer.encode(token, false, false).getIds();
    return ids.length == 1 ? java.util.Optional.of(ids[0]) : java.util.Optional.empty();
  }

  /** The id padding uses. */
  public long padId() {
    return padId;
  }

  public int maxLength() {
    return maxLength;
  }

  /**
   * Encodes {@code text} with the tokenizer's special tokens, truncated to the maximum length;
   * {@code padToMax} right-pads ids with the pad token and the mask with zeros.
   */
  public Tokens encode(String text, boolean padToMax) {
    Encoding encoding = tokenizer.encode(text, true, false);
    long[] ids = encoding.getIds();
    long[] mask = encoding.getAttentionMask();
    int unknown = 0;
    for (long id : ids) {
      unknown += id == unknownId ? 1 : 0;
    }
    if (padToMax && ids.length < maxLength) {
      int length = ids.length;
      ids = Arrays.copyOf(ids, maxLength);
      mask = Arrays.copyOf(mask, maxLength);
      Arrays.fill(ids, length, maxLength, padId);
    }
    return new Tokens(ids, mask, unknown);
  }

  public String decode(long[] ids, boolean skipSpecialTokens) {
    return tokenizer.decode(ids, skipSpecialTokens);
  }

  @Override
  public void close() {
    tokenizer.close();
  }
}
