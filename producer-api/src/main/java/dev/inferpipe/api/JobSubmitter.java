package dev.inferpipe.api;

import dev.inferpipe.core.kafka.StatusTable;
import dev.inferpipe.core.config.S3Settings;
import dev.inferpipe.core.job.InvalidJobException;
import dev.inferpipe.core.job.Job;
import dev.inferpipe.core.job.JobCodec;
import dev.inferpipe.core.job.JobDefaults;
import dev.inferpipe.core.job.JobState;
import dev.inferpipe.core.job.JobStatus;
import dev.inferpipe.core.job.JobValidator;
import dev.inferpipe.core.job.Fingerprints;
import org.apache.kafka.clients.producer.RecordMetadata;
import dev.inferpipe.core.job.Txt2ImgInput;
import dev.inferpipe.core.job.ValidatedJob;
import io.opentelemetry.api.trace.Span;
import java.time.Clock;
import java.time.Instant;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.spi.LoggingEventBuilder;

/**
 * Turns a request body into a queued job: validate, check idempotency, fill defaults, publish the
 * job and its QUEUED status atomically. A client-chosen job_id makes resubmission safe: the same
 * body gets the existing job back, a different body is a conflict.
 */
final class JobSubmitter {
  private static final Logger log = LoggerFactory.getLogger(JobSubmitter.class);

  private final JobValidator validator;
  private final JobDefaults defaults;
  private final JobCodec codec;
  private final JobPublisher publisher;
  private final StatusTable store;
  private final S3Settings s3;
  private final Clock clock;
  private final Fingerprints fingerprints;
  private final WebhookRules webhooks;
  // Check-then-publish of one job_id must not interleave with another submission of that id.
  private final Object submitLock = new Object();

  JobSubmitter(JobValidator validator, JobDefaults defaults, JobCodec codec, JobPublisher publisher,
      StatusTable store, S3Settings s3, Clock clock, Fingerprints fingerprints,
      WebhookRules webhooks) {
    this.webhooks = webhooks;
    this.fingerprints = fingerprints;
    this.validator = validator;
    this.defaults = defaults;
    this.codec = codec;
    this.publisher = publisher;
    this.store = store;
    this.s3 = s3;
    this.clock = clock;
  }

  /** @param key the caller's key, or empty when the API runs without keys */
  SubmitResult submit(byte[] body, Optional<ApiKey> key)
      throws InvalidJobException, JobIdConflictException, PublishFailedException {
    ValidatedJob valid = validator.validate(body);
    String tenant = key.map(ApiKey::tenant).orElse(null);
    String keyId = key.map(ApiKey::id).orElse(null);
    Job withWebhook = webhooks.apply(valid.job(), key);
    synchronized (submitLock) {
      Optional<SubmitResult> earlier = earlierSubmission(valid, tenant);
      if (earlier.isPresent()) {
        return earlier.get();
      }
      Job job = defaults.apply(withWebhook, valid.model());
      Instant now = clock.instant();
      String traceId = Span.current().getSpanContext().isValid()
          ? Span.current().getSpanContext().getTraceId() : null;
      JobStatus queued = JobStatus.queued(
          job, valid.requestSha256(), traceId, s3.outputPrefix(job.jobId()), now, tenant, keyId);
      RecordMetadata where = publisher.publish(job.jobId(), codec.encode(job), valid.requestSha256(),
          now.toEpochMilli(), codec.encode(queued), tenant, keyId);
      store.put(queued, where);
      logAccepted(job);
      return new SubmitResult(queued, false);
    }
  }

  /**
   * Marks a queued or running job CANCELLED on the status topic. The consumer skips it if it has
   * not started, or stops it between sampling steps. Once the sink has claimed the output
   * (STORING) the store wins: the cancel is refused, and a CANCELLED that raced the claim onto
   * the topic is void for every reader. The answer is read back from the topic, so it is the
   * verdict every status table reaches.
   *
   * @return the job's status afterwards (CANCELLED when the cancel won), or empty when no such
   *     job is known
   */
  Optional<JobStatus> cancel(String jobId) throws PublishFailedException {
    synchronized (submitLock) {
      Optional<JobStatus> current = store.get(jobId);
      if (current.isEmpty() || current.get().status().isTerminal()
          || current.get().status() == JobState.STORING) {
        return current;
      }
      JobStatus cancelled = current.get().ended(JobState.CANCELLED, null, clock.instant());
      RecordMetadata where = publisher.publishStatus(jobId, codec.encode(cancelled));
      store.put(cancelled, where);
      if (!store.awaitApplied(where, READ_BACK_TIMEOUT)) {
        log.atWarn().addKeyValue("event", "job.cancel_unconfirmed").addKeyValue("job_id", jobId)
            .log("the status table did not read the cancel back in time");
      }
      if (store.needsRepair(jobId)) {
        // A terminal status beat the cancel onto the topic; keep it the last event.
        store.get(jobId).ifPresent(winner -> {
          try {
            publisher.publishStatus(jobId, codec.encode(winner));
          } catch (PublishFailedException e) {
            log.atWarn().addKeyValue("event", "status.repair_failed").addKeyValue("job_id", jobId)
                .log("could not republish the winning status: {}", e.getMessage());
          }
        });
      }
      Optional<JobStatus> verdict = store.get(jobId);
      log.atInfo().addKeyValue("event", "job.cancel_requested").addKeyValue("job_id", jobId)
          .addKeyValue("status", verdict.map(s -> s.status().name()).orElse("UNKNOWN"))
          .log("cancel requested");
      return verdict;
    }
  }

  static final java.time.Duration READ_BACK_TIMEOUT = java.time.Duration.ofSeconds(5);

  private Optional<SubmitResult> earlierSubmission(ValidatedJob valid, String tenant)
      throws JobIdConflictException {
    String jobId = valid.job().jobId();
    if (jobId == null) {
      return Optional.empty();
    }
    Optional<JobStatus> existing = store.get(jobId);
    if (existing.isEmpty()) {
      return Optional.empty();
    }
    // Another tenant's id is a conflict too (and says no more than that the id is taken).
    if (!valid.requestSha256().equals(existing.get().requestSha256())
        || !java.util.Objects.equals(tenant, existing.get().tenant())) {
      throw new JobIdConflictException(jobId);
    }
    return Optional.of(new SubmitResult(existing.get(), true));
  }

  private void logAccepted(Job job) {
    LoggingEventBuilder event = log.atInfo()
        .addKeyValue("event", "job.accepted")
        .addKeyValue("job_id", job.jobId())
        .addKeyValue("task", job.task().wireName())
        .addKeyValue("model_id", job.modelId());
    if (job.input() instanceof Txt2ImgInput in) {
      event = event.addKeyValue("prompt_hash", fingerprints.promptHash(in.prompt()))
          .addKeyValue("sampler", in.sampler())
          .addKeyValue("steps", in.steps())
          .addKeyValue("cfg_scale", in.cfgScale())
          .addKeyValue("seed", in.seed());
    }
    event.log("job accepted");
  }
}
