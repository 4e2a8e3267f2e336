package dev.inferpipe.core.job;

/**
 * One inference job (schema v1). {@code ttlSeconds} is null when the job never expires;
 * {@code webhookUrl} is null when nobody is to be notified of its end.
 */
public record Job(String jobId, Task task, String modelId, JobInput input, Integer ttlSeconds,
    String webhookUrl) {

  /** A job without a webhook. */
  public Job(String jobId, Task task, String modelId, JobInput input, Integer ttlSeconds) {
    this(jobId, task, modelId, input, ttlSeconds, null);
  }

  public Job withJobId(String newJobId) {
    return new Job(newJobId, task, modelId, input, ttlSeconds, webhookUrl);
  }

  public Job withInput(JobInput newInput) {
    return new Job(jobId, task, modelId, newInput, ttlSeconds, webhookUrl);
  }

  public Job withWebhookUrl(String url) {
    return new Job(jobId, task, modelId, input, ttlSeconds, url);
  }

  // Prompts are user data: never print them.
  @Override
  public String toString() {
    return "Job[jobId=" + jobId + ", task=" + task.wireName() + ", modelId=" + modelId + "]";
  }
}
