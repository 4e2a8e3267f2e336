package dev.inferpipe.consumer;

import dev.inferpipe.core.job.ErrorCode;
import dev.inferpipe.core.job.Job;
import dev.inferpipe.core.job.JobStatus;
import java.util.Optional;

/** What a request record may do, decided by {@link JobAdmission} before anything is published. */
sealed interface Admission {
  /** Run the job; {@code running} is the RUNNING snapshot to publish. */
  record Run(Job job, JobStatus running) implements Admission {}

  /** A record of a job that already ran, runs here, or was stored: nothing to do. */
  record Duplicate(Job job, String reason) implements Admission {}

  /** The job was cancelled while it waited: nothing to do, the API's CANCELLED stands. */
  record Cancelled(Job job) implements Admission {}

  /** Waited past its ttl_seconds: publish EXPIRED. */
  record Expired(Job job, JobStatus running) implements Admission {}

  /** Its job id names another owner's job: dead-letter it, the first job is untouched. */
  record Conflict(Job job, String message) implements Admission {}

  /**
   * Dead-letter the record; publish FAILED for {@code failJob} (present only when the record
   * owns that job id).
   */
  record DeadLetter(ErrorCode code, String message, Optional<JobStatus> failJob)
      implements Admission {}
}
