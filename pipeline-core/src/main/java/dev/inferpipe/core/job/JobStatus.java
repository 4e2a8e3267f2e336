package dev.inferpipe.core.job;

import java.time.Instant;

/**
 * A full snapshot of a job's state, as published on the compacted status topic. Every event
 * carries every field known so far, so compaction (which keeps only the latest event per job)
 * loses nothing.
 *
 * @param storageRetries S3 writes the sink had to retry for this job (null until it stored or gave up)
 */
public record JobStatus(
    String jobId,
    JobState status,
    Task task,
    String modelId,
    String requestSha256,
    String traceId,
    Instant submittedAt,
    Instant startedAt,
    Instant finishedAt,
    Long queueWaitMs,
    Long inferenceMs,
    String outputLocation,
    String answer,
    JobError error,
    Instant updatedAt,
    String tenant,
    Integer storageRetries) {

  /**
   * The first event of a job accepted by the API.
   *
   * @param tenant the submitting API key's tenant, or null when the API runs without keys
   */
  public static JobStatus queued(Job job, String requestSha256, String traceId,
      String outputLocation, Instant now, String tenant) {
    return new JobStatus(job.jobId(), JobState.QUEUED, job.task(), job.modelId(), requestSha256,
        traceId, now, null, null, null, null, outputLocation, null, null, now, tenant, null);
  }

  public JobStatus running(Instant now, long queueWaitMs) {
    return new JobStatus(jobId, JobState.RUNNING, task, modelId, requestSha256, traceId,
        submittedAt, now, null, queueWaitMs, null, outputLocation, null, null, now, tenant, null);
  }

  /** The sink has claimed the output: from here on a cancel is void (see StatusTable). */
  public JobStatus storing(Instant now) {
    return new JobStatus(jobId, JobState.STORING, task, modelId, requestSha256, traceId,
        submittedAt, startedAt, null, queueWaitMs, inferenceMs, outputLocation, null, null, now,
        tenant, null);
  }

  /** SUCCEEDED as the sink publishes it, with the S3 retries it took. */
  public JobStatus stored(Instant now, long inferenceMs, String location, String answerText,
      int retries) {
    return new JobStatus(jobId, JobState.SUCCEEDED, task, modelId, requestSha256, traceId,
        submittedAt, startedAt, now, queueWaitMs, inferenceMs, location, answerText, null, now,
        tenant, retries);
  }

  /** FAILED because the sink could not store the output within its retry bound. */
  public JobStatus storageFailed(Instant now, long inferenceMs, JobError failure, int retries) {
    return new JobStatus(jobId, JobState.FAILED, task, modelId, requestSha256, traceId,
        submittedAt, startedAt, now, queueWaitMs, inferenceMs, null, null, failure, now, tenant,
        retries);
  }

  public JobStatus succeeded(Instant now, long inferenceMs, String location, String answerText) {
    return new JobStatus(jobId, JobState.SUCCEEDED, task, modelId, requestSha256, traceId,
        submittedAt, startedAt, now, queueWaitMs, inferenceMs, location, answerText, null, now, tenant,
        storageRetries);
  }

  public JobStatus ended(JobState terminal, JobError failure, Instant now) {
    if (!terminal.isTerminal()) {
      throw new IllegalArgumentException(terminal + " is not a terminal state");
    }
    return new JobStatus(jobId, terminal, task, modelId, requestSha256, traceId, submittedAt,
        startedAt, now, queueWaitMs, inferenceMs, outputLocation, answer, failure, now, tenant,
        storageRetries);
  }
}
