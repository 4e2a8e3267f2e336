package dev.inferpipe.consumer;

import dev.inferpipe.core.kafka.RequestRecord;
import dev.inferpipe.core.kafka.StatusTable;
import dev.inferpipe.core.config.S3Settings;
import dev.inferpipe.core.job.ErrorCode;
import dev.inferpipe.core.job.InvalidJobException;
import dev.inferpipe.core.job.Job;
import dev.inferpipe.core.job.JobCodec;
import dev.inferpipe.core.job.JobDefaults;
import dev.inferpipe.core.job.JobId;
import dev.inferpipe.core.job.JobState;
import dev.inferpipe.core.job.JobStatus;
import dev.inferpipe.core.job.JobValidator;
import dev.inferpipe.core.job.ValidatedJob;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.opentelemetry.api.trace.Span;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.MDC;

/**
 * Decides what a request record may do ({@link Admission}), from its parsed headers, its body and
 * the job's known status. Nothing is published here.
 *
 * <p>The topic is an untrusted boundary: only a record whose signature verifies carries a tenant
 * and a request hash; any other record is a direct publication, run as the configured direct
 * tenant (or refused). A record never acts on a job that another owner (tenant or request hash)
 * already holds: that is a {@code JOB_ID_CONFLICT} in the DLQ, and the first job is untouched.
 */
final class JobAdmission {
  /** Whether records without a signature run, and as which tenant. */
  record DirectPublishing(boolean enabled, String tenant) {}

  private final JobValidator validator;
  private final JobDefaults defaults;
  private final StatusTable statuses;
  private final S3Settings s3;
  private final DirectPublishing direct;
  private final JobCodec codec;
  private final MeterRegistry registry;
  private final LocalJobs local;

  JobAdmission(JobValidator validator, JobDefaults defaults, StatusTable statuses, S3Settings s3,
      DirectPublishing direct, JobCodec codec, MeterRegistry registry, LocalJobs local) {
    this.validator = validator;
    this.defaults = defaults;
    this.statuses = statuses;
    this.s3 = s3;
    this.direct = direct;
    this.codec = codec;
    this.registry = registry;
    this.local = local;
  }

  /**
   * Decides what a record may do, from its parsed headers, its body and the job's known status.
   * Nothing is published here.
   */
  Admission decide(ConsumerRecord<String, byte[]> record, RequestRecord request, Instant takenAt,
      long queueWaitMs) {
    if (request.origin() instanceof RequestRecord.Forged forged) {
      return new Admission.DeadLetter(ErrorCode.UNAUTHENTICATED, forged.reason(), Optional.empty());
    }
    if (request.origin() instanceof RequestRecord.Direct && !direct.enabled()) {
      return new Admission.DeadLetter(ErrorCode.UNAUTHENTICATED, "direct publishing to " + record.topic()
          + " is disabled: submit jobs through the API", Optional.empty());
    }
    String key = request.key();
    if (key != null && !JobId.isValid(key)) {
      return new Admission.DeadLetter(ErrorCode.INVALID_RECORD, "the record key is not a job id (it must match "
          + JobId.PATTERN.pattern() + ")", Optional.empty());
    }
    String tenant = request.tenant(direct.tenant());
    ValidatedJob valid;
    try {
      valid = validator.validate(record.value());
    } catch (InvalidJobException e) {
      return new Admission.DeadLetter(e.code(), e.getMessage(), readableJobId(record, key)
          .flatMap(id -> failedStatusFor(id, request, tenant, takenAt)));
    }
    String bodyId = valid.job().jobId();
    if (key != null && bodyId != null && !key.equals(bodyId)) {
      return new Admission.DeadLetter(ErrorCode.INVALID_RECORD, "the record key '" + key
          + "' differs from the body's job_id '" + bodyId + "'", Optional.empty());
    }
    Job job = defaults.apply(bodyId != null ? valid.job() : valid.job().withJobId(key),
        valid.model());
    MDC.put("job_id", job.jobId());
    Span.current().setAttribute("job.id", job.jobId());
    Span.current().setAttribute("job.task", job.task().wireName());
    Span.current().setAttribute("model.id", job.modelId());
    String requestHash = request.origin() instanceof RequestRecord.Api api
        ? api.requestHash() : valid.requestSha256();
    Timer.builder("inference.queue.wait").tags("task", job.task().wireName(), "model", job.modelId())
        .register(registry).record(Duration.ofMillis(queueWaitMs));

    boolean produced = local.hasProduced(job.jobId());
    Optional<JobStatus> known = statuses.get(job.jobId());
    LocalJobs.Owner owner = new LocalJobs.Owner(requestHash, tenant);
    // The status topic may not show a job started here a moment ago: the local owner counts too.
    boolean otherOwner = known.map(s -> !owner.equals(new LocalJobs.Owner(s.requestSha256(),
            s.tenant())))
        .orElse(false) || local.owner(job.jobId()).map(o -> !o.equals(owner)).orElse(false);
    if (otherOwner) {
      return new Admission.Conflict(job, "job_id '" + job.jobId()
          + "' already names another job (a different request or owner)");
    }
    if (local.isRunning(job.jobId())) {
      return new Admission.Duplicate(job, "the job is already running here; duplicate record");
    }
    if (produced || known.map(s -> s.status().isTerminal() || s.status() == JobState.STORING)
        .orElse(false)) {
      JobState state = known.map(JobStatus::status).orElse(JobState.STORING);
      return state == JobState.CANCELLED
          ? new Admission.Cancelled(job)
          : new Admission.Duplicate(job, "the job already " + state + "; duplicate record");
    }
    String traceId = Span.current().getSpanContext().getTraceId();
    // The key id is signed with the record, so a job whose QUEUED this table has not read yet
    // still names the API key whose webhook secret signs its notification.
    String keyId = request.origin() instanceof RequestRecord.Api api ? api.keyId() : null;
    JobStatus base = known.orElseGet(() -> JobStatus.queued(job, requestHash, traceId,
        s3.outputPrefix(job.jobId()), request.enqueuedAt(), tenant, keyId));
    JobStatus running = base.running(takenAt, queueWaitMs);
    if (job.ttlSeconds() != null && queueWaitMs > job.ttlSeconds() * 1000L) {
      return new Admission.Expired(job, running);
    }
    return new Admission.Run(job, running);
  }

  /** A FAILED status for a job id the record owns: unknown so far, or the API's queued job. */
  private Optional<JobStatus> failedStatusFor(String jobId, RequestRecord request, String tenant,
      Instant now) {
    Optional<JobStatus> known = statuses.get(jobId);
    String requestHash = request.origin() instanceof RequestRecord.Api api ? api.requestHash() : null;
    boolean owns = known.isEmpty() || (!known.get().status().isTerminal()
        && requestHash != null && requestHash.equals(known.get().requestSha256())
        && Objects.equals(known.get().tenant(), tenant));
    if (!owns) {
      return Optional.empty();
    }
    return Optional.of(known.orElseGet(() -> new JobStatus(jobId, JobState.QUEUED, null, null,
        requestHash, Span.current().getSpanContext().getTraceId(), request.enqueuedAt(), null, null,
        null, null, null, null, null, now, tenant, null)));
  }

  /** The job id of an invalid record, if one can be read safely from its key or JSON. */
  private Optional<String> readableJobId(ConsumerRecord<String, byte[]> record, String key) {
    if (key != null) {
      return Optional.of(key); // already checked to be a job id; the body may not overrule it
    }
    try {
      var tree = codec.parseTree(record.value());
      var id = tree == null ? null : tree.get("job_id");
      if (id != null && id.isString() && JobId.isValid(id.asString())) {
        return Optional.of(id.asString());
      }
    } catch (RuntimeException e) {
      // Not JSON: no id.
    }
    return Optional.empty();
  }
}
