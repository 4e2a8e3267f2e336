package dev.inferpipe.core.webhook;

import java.util.List;

/**
 * An API key's webhook settings, from its entry in the keys file:
 * {@code "webhook": {"secret": "...", "allowed_hosts": ["hooks.example.com"], "default_url": "..."}}.
 * A key without them cannot ask for webhooks.
 *
 * @param secret signs the key's notifications; shared with the receiver (at least 32 characters)
 * @param allowedHosts the hosts its webhooks may target (names or {@code *.suffix} patterns)
 * @param defaultUrl used when a job of the key names no {@code webhook_url}; may be null
 */
public record KeyWebhook(String secret, List<String> allowedHosts, String defaultUrl) {
  public static final int MIN_SECRET_CHARS = 32;

  /** What is wrong with these settings, or null when nothing is. */
  public String problem() {
    if (secret == null || secret.length() < MIN_SECRET_CHARS) {
      return "webhook.secret must be at least " + MIN_SECRET_CHARS + " characters";
    }
    if (allowedHosts == null || allowedHosts.isEmpty()
        || allowedHosts.stream().anyMatch(h -> h == null || !h.matches("(\\*\\.)?[A-Za-z0-9.-]{1,253}"))) {
      return "webhook.allowed_hosts must list host names (or *.suffix patterns)";
    }
    if (defaultUrl != null) {
      java.util.Optional<String> refusal = WebhookTarget.refusal(defaultUrl, allowedHosts, true);
      if (refusal.isPresent()) {
        return "webhook.default_url " + refusal.get();
      }
    }
    return null;
  }

  @Override
  public String toString() {
    return "KeyWebhook[allowedHosts=" + allowedHosts + ", defaultUrl=" + defaultUrl + "]";
  }
}
