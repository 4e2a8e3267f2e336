package dev.inferpipe.notifier;

import dev.inferpipe.core.config.Env;
import dev.inferpipe.core.config.KafkaSettings;
import dev.inferpipe.core.config.Topics;
import dev.inferpipe.core.webhook.WebhookSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * Everything webhook-notifier reads from its environment.
 *
 * @param retryFor how long after a job ended its notification is retried before it is FAILED
 * @param firstBackoff the wait after the first failed attempt; it doubles per attempt (with jitter)
 * @param maxBackoff the longest wait between attempts
 * @param connectTimeout the bound on opening a connection (TCP and TLS)
 * @param attemptTimeout the bound on a whole attempt: connect, send, and read the answer
 * @param concurrency attempts in flight at once
 * @param apiKeysFile the API's keys file, for each key's webhook secret and allow-list
 */
public record NotifierSettings(
    String groupId,
    int managementPort,
    Duration retryFor,
    Duration firstBackoff,
    Duration maxBackoff,
    Duration connectTimeout,
    Duration attemptTimeout,
    int concurrency,
    Optional<Path> apiKeysFile,
    WebhookSettings webhooks,
    KafkaSettings kafka,
    Topics topics) {

  public static final String GROUP_ENV = "INFERPIPE_NOTIFIER_GROUP";
  public static final String MANAGEMENT_PORT_ENV = "INFERPIPE_NOTIFIER_MANAGEMENT_PORT";
  public static final String RETRY_FOR_ENV = "INFERPIPE_WEBHOOK_RETRY_FOR";
  public static final String FIRST_BACKOFF_ENV = "INFERPIPE_WEBHOOK_FIRST_BACKOFF";
  public static final String MAX_BACKOFF_ENV = "INFERPIPE_WEBHOOK_MAX_BACKOFF";
  public static final String CONNECT_TIMEOUT_ENV = "INFERPIPE_WEBHOOK_CONNECT_TIMEOUT";
  public static final String ATTEMPT_TIMEOUT_ENV = "INFERPIPE_WEBHOOK_TIMEOUT";
  public static final String CONCURRENCY_ENV = "INFERPIPE_WEBHOOK_CONCURRENCY";
  /** The same file producer-api reads ({@code INFERPIPE_API_KEYS_FILE}). */
  public static final String API_KEYS_FILE_ENV = "INFERPIPE_API_KEYS_FILE";
  /** A receiver's answer is read up to this; the rest is not read. */
  public static final int MAX_RESPONSE_BYTES = 64 * 1024;

  public static NotifierSettings from(Env env) {
    return new NotifierSettings(
        env.string(GROUP_ENV, "inferpipe-webhook-notifier"),
        env.integer(MANAGEMENT_PORT_ENV, 9466),
        env.duration(RETRY_FOR_ENV, Duration.ofHours(1)),
        // 1 s doubling to 5 min: about 17 attempts in the hour.
        env.duration(FIRST_BACKOFF_ENV, Duration.ofSeconds(1)),
        env.duration(MAX_BACKOFF_ENV, Duration.ofMinutes(5)),
        env.duration(CONNECT_TIMEOUT_ENV, Duration.ofSeconds(5)),
        env.duration(ATTEMPT_TIMEOUT_ENV, Duration.ofSeconds(10)),
        env.integer(CONCURRENCY_ENV, 8),
        env.get(API_KEYS_FILE_ENV).map(Path::of),
        WebhookSettings.from(env),
        KafkaSettings.from(env),
        Topics.from(env));
  }
}
