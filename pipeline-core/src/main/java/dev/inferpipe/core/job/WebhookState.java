package dev.inferpipe.core.job;

/**
 * Where a job's completion webhook stands. PENDING until an attempt got a 2xx (DELIVERED), the
 * retry window passed (FAILED), or the target was refused before any request was sent
 * (REFUSED: not https, a host off the allow-list, an address that is private or link-local).
 */
public enum WebhookState {
  PENDING,
  DELIVERED,
  FAILED,
  REFUSED;

  public boolean isFinal() {
    return this != PENDING;
  }
}
