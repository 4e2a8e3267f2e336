package dev.inferpipe.sink;

/** An object could not be written within the retry bound. */
final class StorageFailedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  StorageFailedException(String message, Throwable cause) {
    super(message, cause);
  }
}
