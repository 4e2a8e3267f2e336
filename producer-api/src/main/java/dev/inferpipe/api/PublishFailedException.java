package dev.inferpipe.api;

/** Kafka did not take a submission in time; nothing of it was committed. */
public final class PublishFailedException extends Exception {
  private static final long serialVersionUID = 1L;

  public PublishFailedException(String message, Throwable cause) {
    super(message, cause);
  }
}
