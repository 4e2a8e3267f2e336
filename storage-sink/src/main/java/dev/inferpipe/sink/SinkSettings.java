package dev.inferpipe.sink;

import dev.inferpipe.core.config.Env;
import dev.inferpipe.core.config.KafkaSettings;
import dev.inferpipe.core.config.S3Settings;
import dev.inferpipe.core.config.Topics;
import java.time.Duration;

/**
 * Everything storage-sink reads from its environment.
 *
 * @param maxAttempts S3 attempts per object before the job is failed (and its output dead-lettered)
 * @param firstBackoff the wait after the first failure; it doubles per attempt (with jitter)
 * @param maxBackoff the longest wait between attempts
 */
public record SinkSettings(
    String groupId,
    int managementPort,
    int maxAttempts,
    Duration firstBackoff,
    Duration maxBackoff,
    KafkaSettings kafka,
    Topics topics,
    S3Settings s3) {

  public static final String GROUP_ENV = "INFERPIPE_SINK_GROUP";
  public static final String MANAGEMENT_PORT_ENV = "INFERPIPE_SINK_MANAGEMENT_PORT";
  public static final String MAX_ATTEMPTS_ENV = "INFERPIPE_SINK_MAX_ATTEMPTS";
  public static final String FIRST_BACKOFF_ENV = "INFERPIPE_SINK_FIRST_BACKOFF";
  public static final String MAX_BACKOFF_ENV = "INFERPIPE_SINK_MAX_BACKOFF";

  public static SinkSettings from(Env env) {
    return new SinkSettings(
        env.string(GROUP_ENV, "inferpipe-storage-sink"),
        env.integer(MANAGEMENT_PORT_ENV, 9465),
        // 20 attempts wait at least 71 s in all (at most 143 s): a minute-long S3 outage is
        // ridden out, not turned into FAILED jobs.
        env.integer(MAX_ATTEMPTS_ENV, 20),
        env.duration(FIRST_BACKOFF_ENV, Duration.ofMillis(200)),
        env.duration(MAX_BACKOFF_ENV, Duration.ofSeconds(10)),
        KafkaSettings.from(env),
        Topics.from(env),
        S3Settings.from(env));
  }
}
