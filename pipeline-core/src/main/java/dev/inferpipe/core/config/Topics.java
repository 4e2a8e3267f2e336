package dev.inferpipe.core.config;

/** Topic names; each can be renamed through its environment variable. */
public record Topics(String requests, String outputs, String status, String dlq) {
  public static final String REQUESTS_ENV = "INFERPIPE_TOPIC_REQUESTS";
  public static final String OUTPUTS_ENV = "INFERPIPE_TOPIC_OUTPUTS";
  public static final String STATUS_ENV = "INFERPIPE_TOPIC_STATUS";
  public static final String DLQ_ENV = "INFERPIPE_TOPIC_DLQ";

  public static Topics defaults() {
    return new Topics("inference.requests", "inference.outputs", "inference.status",
        "inference.requests.dlq");
  }

  public static Topics from(Env env) {
    Topics d = defaults();
    return new Topics(
        env.string(REQUESTS_ENV, d.requests()),
        env.string(OUTPUTS_ENV, d.outputs()),
        env.string(STATUS_ENV, d.status()),
        env.string(DLQ_ENV, d.dlq()));
  }
}
