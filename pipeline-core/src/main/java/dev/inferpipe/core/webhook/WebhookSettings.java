package dev.inferpipe.core.webhook;

import dev.inferpipe.core.config.Env;
import java.util.List;
import java.util.Optional;

/**
 * The deployment's webhook settings, read by producer-api and the notifier alike.
 *
 * @param secret signs notifications of jobs no API key owns (keys off, or published straight
 *     onto Kafka); without it those jobs cannot have webhooks
 * @param allowedHosts the hosts those jobs' webhooks may target; empty allows any public host
 * @param allowLoopback lets webhooks reach loopback over http: the local stack only
 */
public record WebhookSettings(Optional<String> secret, List<String> allowedHosts,
    boolean allowLoopback) {
  public static final String SECRET_ENV = "INFERPIPE_WEBHOOK_SECRET";
  public static final String ALLOWED_HOSTS_ENV = "INFERPIPE_WEBHOOK_ALLOWED_HOSTS";
  public static final String ALLOW_LOOPBACK_ENV = "INFERPIPE_WEBHOOK_ALLOW_LOOPBACK";

  public static WebhookSettings from(Env env) {
    Optional<String> secret = env.get(SECRET_ENV).map(String::trim).filter(s -> !s.isEmpty());
    if (secret.isPresent() && secret.get().length() < KeyWebhook.MIN_SECRET_CHARS) {
      throw new IllegalStateException(SECRET_ENV + " must be at least "
          + KeyWebhook.MIN_SECRET_CHARS + " characters (openssl rand -hex 32)");
    }
    return new WebhookSettings(secret, env.list(ALLOWED_HOSTS_ENV, List.of()),
        env.bool(ALLOW_LOOPBACK_ENV, false));
  }

  @Override
  public String toString() {
    return "WebhookSettings[secret=" + (secret.isPresent() ? "set" : "unset") + ", allowedHosts="
        + allowedHosts + ", allowLoopback=" + allowLoopback + "]";
  }
}
