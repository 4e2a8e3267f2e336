package dev.inferpipe.core.kafka;

/**
 * Kafka refused a record for good: too large, not authorised, an invalid topic, or a value that
 * cannot be serialised. Sending it again gives the same answer, so the caller must not retry it
 * (unlike {@link SendFailedException}); the record in hand is dead-lettered or failed instead.
 */
public final class SendRejectedException extends RuntimeException {
  public SendRejectedException(String message, Throwable cause) {
    super(message, cause);
  }
}
