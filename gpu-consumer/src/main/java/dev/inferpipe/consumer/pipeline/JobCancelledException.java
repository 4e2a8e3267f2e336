package dev.inferpipe.consumer.pipeline;

/** The job was cancelled while running; thrown between steps, so nothing is half-computed. */
public final class JobCancelledException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public JobCancelledException() {
    super("cancelled", null, false, false);
  }
}
