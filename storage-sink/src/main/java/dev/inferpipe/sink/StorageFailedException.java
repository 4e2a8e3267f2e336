package dev.inferpipe.sink;

/** An object could not be written within the retry bound. */
final class StorageFailedException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final int retries;

  StorageFailedException(String message, int retries, Throwable cause) {
    super(message, cause);
    this.retries = retries;
  }

  /** Failed attempts that were retried before giving up. */
  int retries() {
    return retries;
  }
}
