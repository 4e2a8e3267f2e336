package dev.inferpipe.api;

import dev.inferpipe.core.config.DeploymentKeys;
import dev.inferpipe.core.config.Env;
import dev.inferpipe.core.config.KafkaSettings;
import dev.inferpipe.core.config.S3Settings;
import dev.inferpipe.core.config.Topics;
import dev.inferpipe.core.model.ModelSource;
import dev.inferpipe.core.webhook.WebhookSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Everything producer-api reads from its environment.
 *
 * @param maxBodyBytes requests above this get 413 (a 4 MiB image as base64 plus the job fits)
 * @param publishTimeout how long a submission may wait for Kafka before answering 503
 * @param traceContext what a client's {@code traceparent} does: {@code continue} (the job's
 *     trace is the client's), {@code link} (a new trace, linked to the client's: a public API
 *     must not let callers choose the trace they join), or {@code auto} (link when API keys are
 *     on, continue when they are off)
 * @param modelUri where model cards are read ({@code classpath:models/}, a directory or
 *     {@code s3://bucket/prefix/})
 * @param keys the record-signing and hashing keys
 * @param webhooks the deployment's webhook secret and allow-list (for jobs no API key owns)
 */
public record ApiSettings(
    int port,
    long maxBodyBytes,
    Duration publishTimeout,
    List<String> models,
    String modelUri,
    Optional<Path> apiKeysFile,
    String traceContext,
    String traceUrlTemplate,
    DeploymentKeys keys,
    WebhookSettings webhooks,
    KafkaSettings kafka,
    Topics topics,
    S3Settings s3) {

  public static final String PORT_ENV = "INFERPIPE_API_PORT";
  public static final String MAX_BODY_BYTES_ENV = "INFERPIPE_API_MAX_BODY_BYTES";
  public static final String PUBLISH_TIMEOUT_ENV = "INFERPIPE_API_PUBLISH_TIMEOUT";
  public static final String MODELS_ENV = "INFERPIPE_MODELS";
  /** Where model cards are read: the consumer's {@code INFERPIPE_MODEL_URI}, so both agree. */
  public static final String MODEL_URI_ENV = ModelSource.MODEL_URI_ENV;
  /** A JSON file of hashed API keys; without it the API runs unauthenticated (local default). */
  public static final String API_KEYS_FILE_ENV = "INFERPIPE_API_KEYS_FILE";
  public static final String TRACE_CONTEXT_ENV = "INFERPIPE_API_TRACE_CONTEXT";
  /** The web console's link to a trace UI, {@code {trace_id}} replaced (used without a span store). */
  public static final String TRACE_URL_TEMPLATE_ENV = "INFERPIPE_TRACE_URL_TEMPLATE";
  public static final List<String> DEFAULT_MODELS =
      List.of("tiny-shapes-diffusion", "tiny-shapes-vqa");

  public static ApiSettings from(Env env) {
    return new ApiSettings(
        env.integer(PORT_ENV, 8080),
        env.longValue(MAX_BODY_BYTES_ENV, 6L * 1024 * 1024),
        env.duration(PUBLISH_TIMEOUT_ENV, Duration.ofSeconds(5)),
        env.list(MODELS_ENV, DEFAULT_MODELS),
        env.string(MODEL_URI_ENV, ModelSource.DEFAULT_ROOT),
        env.get(API_KEYS_FILE_ENV).map(Path::of),
        traceContext(env.string(TRACE_CONTEXT_ENV, "auto")),
        env.string(TRACE_URL_TEMPLATE_ENV, ""),
        DeploymentKeys.from(env),
        WebhookSettings.from(env),
        KafkaSettings.from(env),
        Topics.from(env),
        S3Settings.from(env));
  }

  /** Whether the SERVER span continues a client's trace (else it links to it). */
  public boolean continuesClientTrace() {
    return traceContext.equals("continue")
        || (traceContext.equals("auto") && apiKeysFile.isEmpty());
  }

  private static String traceContext(String value) {
    if (!List.of("auto", "link", "continue").contains(value)) {
      throw new IllegalArgumentException(TRACE_CONTEXT_ENV + " must be auto, link or continue, got '"
          + value + "'");
    }
    return value;
  }
}
