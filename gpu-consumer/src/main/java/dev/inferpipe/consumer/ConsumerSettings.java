package dev.inferpipe.consumer;

import dev.inferpipe.consumer.batch.BatchSettings;
import dev.inferpipe.consumer.model.Placement;
import dev.inferpipe.consumer.pipeline.StepTelemetry;
import dev.inferpipe.core.config.DeploymentKeys;
import dev.inferpipe.core.config.Env;
import dev.inferpipe.core.config.KafkaSettings;
import dev.inferpipe.core.config.S3Settings;
import dev.inferpipe.core.config.Topics;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Everything gpu-consumer reads from its environment.
 *
 * @param modelRoot {@code classpath:models/}, a directory, or {@code s3://bucket/prefix/}
 * @param device {@code auto} (GPU when DJL sees one), {@code cpu} or {@code gpu}
 * @param onnxThreads ONNX Runtime's intra-op threads per graph ({@link Placement})
 * @param torchThreads libtorch's intra-op threads, process-wide; 0 = libtorch's default
 *     ({@link Placement})
 * @param vqaBudget time allowed for VQA generation and decoding before the fallback applies
 * @param directPublish whether request records without the API's signature (published by any
 *     other Kafka client) are run at all
 * @param directTenant the tenant such records run as (never read from a header)
 * @param batch batching across jobs ({@link BatchSettings})
 * @param vqaImagePrefixes {@code s3://bucket/prefix/} entries VQA images may be read from; an
 *     entry may name {@code {tenant}}; empty refuses every {@code s3://} image
 */
public record ConsumerSettings(
    String groupId,
    int managementPort,
    List<String> models,
    String modelRoot,
    Path modelCacheDir,
    int modelCacheSize,
    String device,
    int onnxThreads,
    int torchThreads,
    StepTelemetry stepTelemetry,
    Duration vqaBudget,
    boolean directPublish,
    String directTenant,
    List<String> vqaImagePrefixes,
    DeploymentKeys keys,
    BatchSettings batch,
    KafkaSettings kafka,
    Topics topics,
    S3Settings s3) {

  public static final String GROUP_ENV = "INFERPIPE_CONSUMER_GROUP";
  public static final String MANAGEMENT_PORT_ENV = "INFERPIPE_CONSUMER_MANAGEMENT_PORT";
  public static final String MODEL_URI_ENV = "INFERPIPE_MODEL_URI";
  public static final String MODEL_CACHE_DIR_ENV = "INFERPIPE_MODEL_CACHE_DIR";
  public static final String MODEL_CACHE_SIZE_ENV = "INFERPIPE_MODEL_CACHE_SIZE";
  public static final String DEVICE_ENV = "INFERPIPE_DEVICE";
  /** ONNX Runtime's intra-op threads per graph ({@link Placement}). */
  public static final String ONNX_THREADS_ENV = "INFERPIPE_ONNX_THREADS";
  /** libtorch's intra-op threads, process-wide ({@link Placement}). */
  public static final String TORCH_THREADS_ENV = "INFERPIPE_TORCH_THREADS";
  public static final String VQA_BUDGET_ENV = "INFERPIPE_VQA_BUDGET";
  public static final String STEP_TELEMETRY_ENV = "INFERPIPE_STEP_TELEMETRY";
  public static final String DIRECT_PUBLISH_ENV = "INFERPIPE_DIRECT_PUBLISH";
  public static final String DIRECT_TENANT_ENV = "INFERPIPE_DIRECT_TENANT";
  public static final String VQA_IMAGE_PREFIXES_ENV = "INFERPIPE_VQA_IMAGE_PREFIXES";

  public static ConsumerSettings from(Env env) {
    return new ConsumerSettings(
        env.string(GROUP_ENV, "inferpipe-gpu-consumer"),
        env.integer(MANAGEMENT_PORT_ENV, 9464),
        env.list("INFERPIPE_MODELS", List.of("tiny-shapes-diffusion", "tiny-shapes-vqa")),
        env.string(MODEL_URI_ENV, "classpath:models/"),
        Path.of(env.string(MODEL_CACHE_DIR_ENV,
            Path.of(System.getProperty("java.io.tmpdir"), "inferpipe-models").toString())),
        env.integer(MODEL_CACHE_SIZE_ENV, 4),
        env.string(DEVICE_ENV, "auto"),
        env.integer(ONNX_THREADS_ENV, Placement.DEFAULT_ONNX_THREADS),
        env.integer(TORCH_THREADS_ENV, Placement.DEFAULT_TORCH_THREADS),
        StepTelemetry.parse(env.string(STEP_TELEMETRY_ENV, "spans")),
        env.duration(VQA_BUDGET_ENV, Duration.ofSeconds(2)),
        env.bool(DIRECT_PUBLISH_ENV, true),
        env.string(DIRECT_TENANT_ENV, "external"),
        env.list(VQA_IMAGE_PREFIXES_ENV, List.of()),
        DeploymentKeys.from(env),
        BatchSettings.from(env),
        KafkaSettings.from(env),
        Topics.from(env),
        S3Settings.from(env));
  }
}
