package dev.inferpipe.consumer.pipeline;

import dev.inferpipe.core.job.ErrorCode;

/** A job cannot be completed; the code goes into its FAILED status. */
public final class JobFailedException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final ErrorCode code;

  public JobFailedException(ErrorCode code, String message, Throwable cause) {
    super(message, cause);
    this.code = code;
  }

  public JobFailedException(ErrorCode code, String message) {
    this(code, message, null);
  }

  public ErrorCode code() {
    return code;
  }
}
