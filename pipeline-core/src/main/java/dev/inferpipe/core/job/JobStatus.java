package dev.inferpipe.core.job;

import java.time.Instant;

/**
 * A full snapshot of a job's state, as published on the compacted status topic. Every event
 * carries every field known so far, so compaction (which keeps only the latest event per job)
 * loses nothing.
 *
 * @param storageRetries S3 writes the sink had to retry for this job (null until it stored or gave up)
 * @param webhook where the job's terminal status is POSTed; null when nowhere
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
    Integer storageRetries,
    JobWebhook webhook) {

  /** A snapshot without a webhook. */
  public JobStatus(String jobId, JobState status, Task task, String modelId, String requestSha256,
      String traceId, Instant submittedAt, Instant startedAt, Instant finishedAt, Long queueWaitMs,
      Long inferenceMs, String outputLocation, String answer, JobError error, Instant updatedAt,
      String tenant, Integer storageRetries) {
    this(jobId, status, task, modelId, requestSha256, traceId, submittedAt, startedAt, finishedAt,
        queueWaitMs, inferenceMs, outputLocation, answer, error, updatedAt, tenant, storageRetries,
        null);
  }

  /**
   * The first event of a job accepted by the API.
   *
   * @param tenant the submitting API key's tenant, or null when the API runs without keys
   * @param webhookKeyId the API key whose secret signs the job's webhook (null: the deployment's)
   */
  public static JobStatus queued(Job job, String requestSha256, String traceId,
      String outputLocation, Instant now, String tenant, String webhookKeyId) {
    JobWebhook webhook = job.webhookUrl() == null ? null
        : JobWebhook.target(job.webhookUrl(), webhookKeyId);
    return new JobStatus(job.jobId(), JobState.QUEUED, job.task(), job.modelId(), requestSha256,
        traceId, now, null, null, null, null, outputLocation, null, null, now, tenant, null,
        webhook);
  }

  /** {@link #queued(Job, String, String, String, Instant, String, String)} signed with the deployment's secret. */
  public static JobStatus queued(Job job, String requestSha256, String traceId,
      String outputLocation, Instant now, String tenant) {
    return queued(job, requestSha256, traceId, outputLocation, now, tenant, null);
  }

  /** This snapshot with another webhook view (the API adds the delivery's progress). */
  public JobStatus withWebhook(JobWebhook view) {
    return new JobStatus(jobId, status, task, modelId, requestSha256, traceId, submittedAt,
        startedAt, finishedAt, queueWaitMs, inferenceMs, outputLocation, answer, error, updatedAt,
        tenant, storageRetries, view);
  }

  public JobStatus running(Instant now, long queueWaitMs) {
    return new JobStatus(jobId, JobState.RUNNING, task, modelId, requestSha256, traceId,
        submittedAt, now, null, queueWaitMs, null, outputLocation, null, null, now, tenant, null,
        webhook);
  }

  /** The sink has claimed the output: from here on a cancel is void (see StatusTable). */
  public JobStatus storing(Instant now) {
    return new JobStatus(jobId, JobState.STORING, task, modelId, requestSha256, traceId,
        submittedAt, startedAt, null, queueWaitMs, inferenceMs, outputLocation, null, null, now,
        tenant, null, webhook);
  }

  /** SUCCEEDED as the sink publishes it, with the S3 retries it took. */
  public JobStatus stored(Instant now, long inferenceMs, String location, String answerText,
      int retries) {
    return new JobStatus(jobId, JobState.SUCCEEDED, task, modelId, requestSha256, traceId,
        submittedAt, startedAt, now, queueWaitMs, inferenceMs, location, answerText, null, now,
        tenant, retries, webhook);
  }

  /** FAILED because the sink could not store the output within its retry bound. */
  public JobStatus storageFailed(Instant now, long inferenceMs, JobError failure, int retries) {
    return new JobStatus(jobId, JobState.FAILED, task, modelId, requestSha256, traceId,
        submittedAt, startedAt, now, queueWaitMs, inferenceMs, null, null, failure, now, tenant,
        retries, webhook);
  }

  public JobStatus succeeded(Instant now, long inferenceMs, String location, String answerText) {
    return new JobStatus(jobId, JobState.SUCCEEDED, task, modelId, requestSha256, traceId,
        submittedAt, startedAt, now, queueWaitMs, inferenceMs, location, answerText, null, now, tenant,
        storageRetries, webhook);
  }

  public JobStatus ended(JobState terminal, JobError failure, Instant now) {
    if (!terminal.isTerminal()) {
      throw new IllegalArgumentException(terminal + " is not a terminal state");
    }
    return new JobStatus(jobId, terminal, task, modelId, requestSha256, traceId, submittedAt,
        startedAt, now, queueWaitMs, inferenceMs, outputLocation, answer, failure, now, tenant,
        storageRetries, webhook);
  }
}
