package dev.inferpipe.core.job;

/**
 * Lifecycle: QUEUED -> RUNNING -> STORING -> one of the terminal states. A job's first terminal
 * status is final: every status table ignores what comes after it (see {@code StatusTable}).
 * STORING says the sink has claimed the output; from then on a cancel is refused.
 */
public enum JobState {
  QUEUED,
  RUNNING,
  STORING,
  SUCCEEDED,
  FAILED,
  EXPIRED,
  CANCELLED;

  public boolean isTerminal() {
    return this != QUEUED && this != RUNNING && this != STORING;
  }
}
