package dev.inferpipe.core.job;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.inferpipe.core.model.ModelSpec;
import tools.jackson.core.JacksonException;
import tools.jackson.core.StreamReadConstraints;
import tools.jackson.core.StreamReadFeature;
import tools.jackson.core.json.JsonFactory;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.cfg.DateTimeFeature;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * JSON for everything on the wire: snake_case names, ISO-8601 instants, nulls omitted. Parsing is
 * bounded (nesting depth, string length) because job bodies come from untrusted clients.
 */
public final class JobCodec {
  /** Deeper than any valid job needs; hostile documents fail fast instead of recursing. */
  public static final int MAX_NESTING_DEPTH = 32;
  /** Above the largest valid field (a 4 MiB image as base64). */
  public static final int MAX_STRING_CHARS = 6 * 1024 * 1024;

  private final ObjectMapper mapper;

  public JobCodec() {
    JsonFactory factory = JsonFactory.builder()
        .streamReadConstraints(StreamReadConstraints.builder()
            .maxNestingDepth(MAX_NESTING_DEPTH)
            .maxStringLength(MAX_STRING_CHARS)
            .build())
        .build();
    this.mapper = JsonMapper.builder(factory)
        .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
        .changeDefaultPropertyInclusion(v -> v.withValueInclusion(JsonInclude.Include.NON_NULL))
        .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
        .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
        .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
        .disable(DateTimeFeature.WRITE_DATES_AS_TIMESTAMPS)
        .build();
  }

  /** Parses untrusted bytes into a tree; the exception message says what and where. */
  public JsonNode parseTree(byte[] json) {
    return mapper.readTree(json);
  }

  public byte[] encode(Object value) {
    return mapper.writeValueAsBytes(value);
  }

  /** Indented, for files people read (model cards). */
  public String encodePretty(Object value) {
    return mapper.writerWithDefaultPrettyPrinter().writeValueAsString(value);
  }

  public String encodeToString(Object value) {
    return mapper.writeValueAsString(value);
  }

  public ObjectNode newObject() {
    return mapper.createObjectNode();
  }

  /** Binds a schema-valid job tree; the input record is chosen by the task. */
  public Job bindJob(JsonNode tree) {
    Task task = Task.fromWireName(tree.get("task").asString());
    JsonNode inputNode = tree.get("input");
    JobInput input = switch (task) {
      case TXT2IMG -> mapper.treeToValue(inputNode, Txt2ImgInput.class);
      case VQA -> mapper.treeToValue(inputNode, VqaInput.class);
    };
    JsonNode ttl = tree.get("ttl_seconds");
    JsonNode jobId = tree.get("job_id");
    JsonNode webhook = tree.get("webhook_url");
    return new Job(
        jobId == null ? null : jobId.asString(),
        task,
        tree.get("model_id").asString(),
        input,
        ttl == null ? null : ttl.asInt(),
        webhook == null ? null : webhook.asString());
  }

  /** Decodes a job this project encoded (already validated when it was published). */
  public Job decodeJob(byte[] json) {
    return bindJob(parseTree(json));
  }

  public JobStatus decodeStatus(byte[] json) {
    return mapper.readValue(json, JobStatus.class);
  }

  public ModelSpec decodeModelSpec(byte[] json) {
    return mapper.readValue(json, ModelSpec.class);
  }

  public <T> T decode(byte[] json, Class<T> type) {
    return mapper.readValue(json, type);
  }

  /** True when the exception came from reading JSON (as opposed to a bug in the caller). */
  public static boolean isJsonError(RuntimeException e) {
    return e instanceof JacksonException;
  }
}
