package dev.inferpipe.core.job;

import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import dev.inferpipe.core.model.ModelCatalog;
import dev.inferpipe.core.model.ModelSpec;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;

/**
 * Validates untrusted job JSON in three layers: it parses, it matches the v1 JSON schema shipped in
 * {@code schema/job-v1.schema.json}, and it fits the limits its model declares. Every problem
 * found is reported, not only the first.
 */
public final class JobValidator {
  public static final String SCHEMA_RESOURCE = "schema/job-v1.schema.json";
  public static final int MAX_IMAGE_BYTES = 4 * 1024 * 1024;

  private static final byte[] PNG_MAGIC = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  private static final byte[] JPEG_MAGIC = {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF};

  private final JobCodec codec;
  private final ModelCatalog models;
  private final Schema schema;
  private final Fingerprints fingerprints;

  /** @param fingerprints keys the request fingerprint ({@link ValidatedJob#requestSha256}) */
  public JobValidator(JobCodec codec, ModelCatalog models, Fingerprints fingerprints) {
    this.codec = codec;
    this.models = models;
    this.fingerprints = fingerprints;
    this.schema = loadSchema();
  }

  private static Schema loadSchema() {
    try (InputStream in = JobValidator.class.getClassLoader().getResourceAsStream(SCHEMA_RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException(SCHEMA_RESOURCE + " is missing from the classpath");
      }
      return SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12).getSchema(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public ValidatedJob validate(byte[] json) throws InvalidJobException {
    if (json == null || json.length == 0) {
      throw new InvalidJobException(ErrorCode.INVALID_JSON,
          List.of(new FieldError("", "empty", "the job is empty; expected a JSON object")));
    }
    JsonNode tree;
    try {
      tree = codec.parseTree(json);
    } catch (JacksonException e) {
      throw new InvalidJobException(ErrorCode.INVALID_JSON,
          List.of(new FieldError("", "malformed_json", "not valid JSON: " + e.getOriginalMessage()
              + location(e))));
    }
    if (tree == null || tree.isMissingNode()) {
      throw new InvalidJobException(ErrorCode.INVALID_JSON,
          List.of(new FieldError("", "empty", "the job is empty; expected a JSON object")));
    }
    // Numbers beyond what a double holds exactly break schema engines (and mean nothing here).
    List<FieldError> rangeErrors = new ArrayList<>();
    collectOutOfRange(tree, "", rangeErrors);
    if (!rangeErrors.isEmpty()) {
      throw new InvalidJobException(ErrorCode.INVALID_JOB, rangeErrors);
    }
    List<FieldError> schemaErrors = schemaErrors(tree);
    if (!schemaErrors.isEmpty()) {
      throw new InvalidJobException(ErrorCode.INVALID_JOB, schemaErrors);
    }
    Job job = codec.bindJob(tree);
    Optional<ModelSpec> model = models.find(job.modelId());
    if (model.isEmpty()) {
      throw new InvalidJobException(ErrorCode.UNKNOWN_MODEL, List.of(new FieldError("model_id",
          "unknown_model", "no model '" + job.modelId() + "'; known: " + knownModelIds())));
    }
    List<FieldError> limitErrors = modelLimitErrors(job, model.get());
    if (!limitErrors.isEmpty()) {
      throw new InvalidJobException(ErrorCode.INVALID_JOB, limitErrors);
    }
    return new ValidatedJob(job, model.get(), fingerprints.requestHash(codec.encode(job)));
  }

  private static final double MAX_SAFE_NUMBER = 9_007_199_254_740_991d; // 2^53 - 1

  private static void collectOutOfRange(JsonNode node, String path, List<FieldError> errors) {
    if (node.isNumber()) {
      double value = node.asDouble();
      if (Double.isNaN(value) || Math.abs(value) > MAX_SAFE_NUMBER) {
        errors.add(new FieldError(path, "number_out_of_range", "is outside ±(2^53 - 1)"));
      }
    } else if (node.isObject()) {
      for (var entry : node.properties()) {
        collectOutOfRange(entry.getValue(), path.isEmpty() ? entry.getKey()
            : path + "." + entry.getKey(), errors);
      }
    } else if (node.isArray()) {
      for (int i = 0; i < node.size(); i++) {
        collectOutOfRange(node.get(i), path + "." + i, errors);
      }
    }
  }

  private static String location(JacksonException e) {
    return e.getLocation() == null ? ""
        : " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")";
  }

  private List<FieldError> schemaErrors(JsonNode tree) {
    // Keyed by field: when one field breaks several rules (e.g. both branches of an anyOf),
    // one clear message per field reads better than a cascade.
    Map<String, FieldError> byField = new LinkedHashMap<>();
    List<Error> errors;
    try {
      errors = schema.validate(tree);
    } catch (RuntimeException e) {
      // A document the schema engine itself chokes on is refused, not a server error.
      return List.of(new FieldError("", "unvalidatable",
          "could not be checked against the schema: " + e.getMessage()));
    }
    for (Error error : errors) {
      FieldError fieldError = toFieldError(error);
      byField.putIfAbsent(fieldError.field() + "\u0000" + fieldError.reason(), fieldError);
    }
    return collapseAnyOf(new ArrayList<>(byField.values()));
  }

  private static FieldError toFieldError(Error error) {
    String path = dotted(error.getInstanceLocation().toString());
    String keyword = error.getKeyword() == null ? "invalid" : error.getKeyword();
    String message = stripLocation(error.getMessage());
    if (("required".equals(keyword) || "additionalProperties".equals(keyword))
        && error.getProperty() != null) {
      String field = path.isEmpty() ? error.getProperty() : path + "." + error.getProperty();
      String reason = "required".equals(keyword) ? "required" : "unknown_field";
      String text = "required".equals(keyword) ? "is required" : "is not a known field";
      return new FieldError(field, reason, text);
    }
    return new FieldError(path, keyword, message);
  }

  /** The image field is valid in one of two forms; say so once instead of listing both patterns. */
  private static List<FieldError> collapseAnyOf(List<FieldError> errors) {
    List<FieldError> result = new ArrayList<>();
    boolean imageReported = false;
    for (FieldError error : errors) {
      if (error.field().equals("input.image")
          && (error.reason().equals("pattern") || error.reason().equals("anyOf"))) {
        if (!imageReported) {
          result.add(new FieldError("input.image", "invalid_image_reference",
              "must be base64-encoded PNG/JPEG bytes or an s3://bucket/key URI"));
          imageReported = true;
        }
        continue;
      }
      result.add(error);
    }
    return result;
  }

  /** {@code $.input.steps} or {@code /input/steps} becomes {@code input.steps}. */
  private static String dotted(String location) {
    String path = location;
    if (path.startsWith("$")) {
      path = path.substring(1);
    }
    path = path.replace('/', '.').replace("[", ".").replace("]", "");
    while (path.startsWith(".")) {
      path = path.substring(1);
    }
    return path;
  }

  private static String stripLocation(String message) {
    int colon = message.indexOf(": ");
    return message.startsWith("$") && colon > 0 ? message.substring(colon + 2) : message;
  }

  private List<FieldError> modelLimitErrors(Job job, ModelSpec model) {
    List<FieldError> errors = new ArrayList<>();
    if (model.task() != job.task()) {
      errors.add(new FieldError("task", "model_task_mismatch", "model '" + model.modelId()
          + "' serves task '" + model.task().wireName() + "', not '" + job.task().wireName() + "'"));
      return errors;
    }
    if (job.input() instanceof Txt2ImgInput in) {
      if (in.steps() != null && model.maxSteps() != null && in.steps() > model.maxSteps()) {
        errors.add(new FieldError("input.steps", "model_maximum",
            "must be at most " + model.maxSteps() + " for model '" + model.modelId() + "'"));
      }
      if (in.width() != null && in.width() != model.width()) {
        errors.add(new FieldError("input.width", "model_size",
            "model '" + model.modelId() + "' generates width " + model.width() + " only"));
      }
      if (in.height() != null && in.height() != model.height()) {
        errors.add(new FieldError("input.height", "model_size",
            "model '" + model.modelId() + "' generates height " + model.height() + " only"));
      }
      if (in.sampler() != null && model.samplers() != null
          && !model.samplers().contains(in.sampler())) {
        errors.add(new FieldError("input.sampler", "model_sampler",
            "model '" + model.modelId() + "' supports samplers " + model.samplers()));
      }
    } else if (job.input() instanceof VqaInput in) {
      if (in.maxNewTokens() != null && model.maxNewTokens() != null
          && in.maxNewTokens() > model.maxNewTokens()) {
        errors.add(new FieldError("input.max_new_tokens", "model_maximum",
            "must be at most " + model.maxNewTokens() + " for model '" + model.modelId() + "'"));
      }
      if (!in.imageIsS3Uri()) {
        imageError(in.image()).ifPresent(errors::add);
      }
    }
    return errors;
  }

  private static Optional<FieldError> imageError(String base64) {
    byte[] bytes;
    try {
      bytes = Base64.getDecoder().decode(base64);
    } catch (IllegalArgumentException e) {
      return Optional.of(new FieldError("input.image", "invalid_base64",
          "is not valid base64: " + e.getMessage()));
    }
    if (bytes.length > MAX_IMAGE_BYTES) {
      return Optional.of(new FieldError("input.image", "image_too_large",
          "decodes to " + bytes.length + " bytes; the limit is " + MAX_IMAGE_BYTES));
    }
    if (!startsWith(bytes, PNG_MAGIC) && !startsWith(bytes, JPEG_MAGIC)) {
      return Optional.of(new FieldError("input.image", "unsupported_image_format",
          "is neither PNG nor JPEG"));
    }
    return Optional.empty();
  }

  private static boolean startsWith(byte[] bytes, byte[] prefix) {
    if (bytes.length < prefix.length) {
      return false;
    }
    for (int i = 0; i < prefix.length; i++) {
      if (bytes[i] != prefix[i]) {
        return false;
      }
    }
    return true;
  }

  private String knownModelIds() {
    return models.all().stream().map(ModelSpec::modelId).toList().toString();
  }
}
