package dev.inferpipe.core.job;

/** Lifecycle: QUEUED -> RUNNING -> one of the terminal states. */
public enum JobState {
  QUEUED,
  RUNNING,
  SUCCEEDED,
  FAILED,
  EXPIRED,
  CANCELLED;

  public boolean isTerminal() {
    return this != QUEUED && this != RUNNING;
  }
}
