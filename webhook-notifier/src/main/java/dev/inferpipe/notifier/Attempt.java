package dev.inferpipe.notifier;

/** How one POST to a webhook went. */
sealed interface Attempt {
  /** The receiver answered (any status; 2xx is a delivery). */
  record Answered(int code) implements Attempt {}

  /** Not sent: the target resolved to an address that may not be called. */
  record Refused(String reason) implements Attempt {}

  /** No answer: DNS, connection, TLS or timeout; worth another try. */
  record Failed(String error) implements Attempt {}
}
