package dev.inferpipe.api;

/** A client-chosen job_id was already used for a different job body. */
final class JobIdConflictException extends Exception {
  private static final long serialVersionUID = 1L;

  JobIdConflictException(String jobId) {
    super("job_id '" + jobId + "' was already submitted with a different body");
  }
}
