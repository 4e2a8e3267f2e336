package dev.inferpipe.core.config;

/** Topic names; each can be renamed through its environment variable. */
public record Topics(String requests, String outputs, String status, String dlq, String webhooks) {
  public static final String REQUESTS_ENV = "INFERPIPE_TOPIC_REQUESTS";
  public static final String OUTPUTS_ENV = "INFERPIPE_TOPIC_OUTPUTS";
  public static final String STATUS_ENV = "INFERPIPE_TOPIC_STATUS";
  public static final String DLQ_ENV = "INFERPIPE_TOPIC_DLQ";
  /** The webhook deliveries (compacted, one record per job): written by the notifier. */
  public static final String WEBHOOKS_ENV = "INFERPIPE_TOPIC_WEBHOOKS";

  public static Topics defaults() {
    return new Topics("inference.requests", "inference.outputs", "inference.status",
        "inference.requests.dlq", "inference.webhooks");
  }

  public static Topics from(Env env) {
    Topics d = defaults();
    return new Topics(
        env.string(REQUESTS_ENV, d.requests()),
        env.string(OUTPUTS_ENV, d.outputs()),
        env.string(STATUS_ENV, d.status()),
        env.string(DLQ_ENV, d.dlq()),
        env.string(WEBHOOKS_ENV, d.webhooks()));
  }
}
