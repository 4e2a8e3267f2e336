package dev.inferpipe.local;

import dev.inferpipe.core.config.Env;
import java.nio.file.Path;

/**
 * Where the embedded stack keeps its data and which ports it listens on.
 *
 * @param tracesKept traces the local span store keeps for the waterfall and the trace endpoint
 */
record LocalSettings(Path dataDir, int kafkaPort, int s3Port, int apiPort, int consumerPort,
    int sinkPort, int notifierPort, String bucket, int tracesKept) {
  static final String DATA_DIR_ENV = "INFERPIPE_DATA_DIR";
  static final String KAFKA_PORT_ENV = "INFERPIPE_LOCAL_KAFKA_PORT";
  static final String S3_PORT_ENV = "INFERPIPE_LOCAL_S3_PORT";
  static final String TRACES_KEPT_ENV = "INFERPIPE_LOCAL_TRACES_KEPT";

  static LocalSettings from(Env env) {
    return new LocalSettings(
        Path.of(env.string(DATA_DIR_ENV, "data")).toAbsolutePath(),
        env.integer(KAFKA_PORT_ENV, 9092),
        env.integer(S3_PORT_ENV, 9000),
        env.integer("INFERPIPE_API_PORT", 8080),
        env.integer("INFERPIPE_CONSUMER_MANAGEMENT_PORT", 9464),
        env.integer("INFERPIPE_SINK_MANAGEMENT_PORT", 9465),
        env.integer("INFERPIPE_NOTIFIER_MANAGEMENT_PORT", 9466),
        env.string("INFERPIPE_S3_BUCKET", "inferpipe-outputs"),
        env.integer(TRACES_KEPT_ENV, 5_000));
  }
}
