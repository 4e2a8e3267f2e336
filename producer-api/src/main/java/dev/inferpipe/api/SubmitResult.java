package dev.inferpipe.api;

import dev.inferpipe.core.job.JobStatus;

/**
 * The outcome of an accepted submission.
 *
 * @param duplicate true when the same job_id and body were submitted before; nothing was published
 */
record SubmitResult(JobStatus status, boolean duplicate) {}
