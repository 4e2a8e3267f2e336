package dev.inferpipe.core.job;

/** One inference job (schema v1). {@code ttlSeconds} is null when the job never expires. */
public record Job(String jobId, Task task, String modelId, JobInput input, Integer ttlSeconds) {

  public Job withJobId(String newJobId) {
    return new Job(newJobId, task, modelId, input, ttlSeconds);
  }

  public Job withInput(JobInput newInput) {
    return new Job(jobId, task, modelId, newInput, ttlSeconds);
  }

  // Prompts are user data: never print them.
  @Override
  public String toString() {
    return "Job[jobId=" + jobId + ", task=" + task.wireName() + ", modelId=" + modelId + "]";
  }
}
