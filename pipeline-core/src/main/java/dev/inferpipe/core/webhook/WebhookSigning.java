package dev.inferpipe.core.webhook;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The secret a job's webhook is signed with and the hosts it may go to. One rule for the API
 * (at submission) and the notifier (before every attempt): a job submitted with an API key uses
 * that key's webhook settings, any other job the deployment's.
 */
public record WebhookSigning(String secret, List<String> allowedHosts) {
  public WebhookSigning {
    Objects.requireNonNull(secret, "secret");
    allowedHosts = List.copyOf(allowedHosts);
  }

  /**
   * @param keyId the submitting key's id, or null for a job submitted without one
   * @param key that key's webhook settings, empty when it has none (or is unknown)
   * @return the signing to use, empty when webhooks are not enabled for this job: see
   *     {@link #missing}
   */
  public static Optional<WebhookSigning> of(String keyId, Optional<KeyWebhook> key,
      WebhookSettings deployment) {
    if (keyId != null) {
      return key.map(k -> new WebhookSigning(k.secret(), k.allowedHosts()));
    }
    return deployment.secret().map(s -> new WebhookSigning(s, deployment.allowedHosts()));
  }

  /** Why {@link #of} was empty, for the 400 or the REFUSED delivery. */
  public static String missing(String keyId) {
    return keyId == null
        ? "this deployment has no webhook secret (" + WebhookSettings.SECRET_ENV + ")"
        : "webhooks are not enabled for API key '" + keyId + "'";
  }
}
