package dev.inferpipe.core.kafka;

/**
 * A record a worker service had to write was not acknowledged (broker down past the producer's
 * delivery timeout, authorization, record too large). The job is not at fault: the consumed
 * record stays uncommitted and is handled again.
 */
public final class SendFailedException extends RuntimeException {
  public SendFailedException(String message, Throwable cause) {
    super(message, cause);
  }
}
