package dev.inferpipe.consumer;

import dev.inferpipe.consumer.batch.BatchJob;
import dev.inferpipe.consumer.batch.BatchScheduler;
import dev.inferpipe.core.config.S3Settings;
import dev.inferpipe.core.config.Topics;
import dev.inferpipe.core.job.ErrorCode;
import dev.inferpipe.core.job.Fingerprints;
import dev.inferpipe.core.job.Job;
import dev.inferpipe.core.job.JobCodec;
import dev.inferpipe.core.job.JobDefaults;
import dev.inferpipe.core.job.JobState;
import dev.inferpipe.core.job.JobStatus;
import dev.inferpipe.core.job.JobValidator;
import dev.inferpipe.core.job.Txt2ImgInput;
import dev.inferpipe.core.kafka.AckedSender;
import dev.inferpipe.core.kafka.HeadersPropagation;
import dev.inferpipe.core.kafka.MessagingAttributes;
import dev.inferpipe.core.kafka.RecordSigner;
import dev.inferpipe.core.kafka.RecordTicket;
import dev.inferpipe.core.kafka.RequestRecord;
import dev.inferpipe.core.kafka.StatusTable;
import io.micrometer.core.instrument.MeterRegistry;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Takes each request record through a short named sequence: parse it once at the edge
 * ({@link RequestRecord}: key, origin, signature, request hash, enqueue time; the trace context
 * from its headers), trace its queue wait, decide what it may do ({@link JobAdmission}), and
 * either settle it here (duplicate, cancelled, expired, dead-letter) or announce RUNNING and hand
 * the job to the {@link BatchScheduler}, whose outcome {@link OutcomePublisher} publishes. Whatever
 * happens, the record ends in exactly one place: an output record, a FAILED/EXPIRED status, the
 * DLQ, or nowhere when it is a duplicate. The record's {@link RecordTicket} is done only once
 * those records were acknowledged; the loop commits no offset past it before that.
 */
final class JobProcessor {
  private static final Logger log = LoggerFactory.getLogger(JobProcessor.class);

  private final OpenTelemetry openTelemetry;
  private final Tracer tracer;
  private final AckedSender sender;
  private final String consumerGroup;
  private final RecordSigner signer;
  private final Clock clock;
  private final StatusTable statuses;
  private final Fingerprints fingerprints;
  private final JobAdmission admission;
  private final BatchScheduler scheduler;
  private final OutcomePublisher outcomes;
  private final Executor publisher;
  private final LocalJobs local;

  private JobProcessor(Builder b) {
    this.openTelemetry = b.openTelemetry;
    this.tracer = openTelemetry.getTracer("dev.inferpipe.consumer");
    this.sender = b.sender;
    this.consumerGroup = b.consumerGroup;
    this.signer = b.signer;
    this.clock = b.clock;
    this.statuses = b.statuses;
    this.fingerprints = b.fingerprints;
    this.local = new LocalJobs();
    this.admission = new JobAdmission(b.validator, b.defaults, b.statuses, b.s3, b.direct,
        b.codec, b.registry, local);
    this.outcomes = new OutcomePublisher(b.registry, b.sender, b.topics, b.codec, b.clock,
        b.statuses, b.fingerprints, local);
    this.scheduler = b.scheduler;
    this.publisher = b.publisher;
  }

  static Builder builder() {
    return new Builder();
  }

  /** Everything a processor works with; every part is required. */
  static final class Builder {
    private OpenTelemetry openTelemetry;
    private MeterRegistry registry;
    private AckedSender sender;
    private Topics topics;
    private S3Settings s3;
    private String consumerGroup;
    private JobCodec codec;
    private JobValidator validator;
    private JobDefaults defaults;
    private BatchScheduler scheduler;
    private Executor publisher;
    private Clock clock = Clock.systemUTC();
    private StatusTable statuses;
    private RecordSigner signer;
    private Fingerprints fingerprints;
    private JobAdmission.DirectPublishing direct;

    Builder telemetry(OpenTelemetry openTelemetry, MeterRegistry registry) {
      this.openTelemetry = openTelemetry;
      this.registry = registry;
      return this;
    }

    /** Where statuses, outputs and dead letters go, and the status table that reads them back. */
    Builder kafka(AckedSender sender, Topics topics, String consumerGroup, StatusTable statuses) {
      this.sender = sender;
      this.topics = topics;
      this.consumerGroup = consumerGroup;
      this.statuses = statuses;
      return this;
    }

    /** How records are read: body codec and validator, defaults, signatures, hashing, direct. */
    Builder requests(JobCodec codec, JobValidator validator, JobDefaults defaults,
        RecordSigner signer, Fingerprints fingerprints, JobAdmission.DirectPublishing direct) {
      this.codec = codec;
      this.validator = validator;
      this.defaults = defaults;
      this.signer = signer;
      this.fingerprints = fingerprints;
      this.direct = direct;
      return this;
    }

    /** Who runs admitted jobs, and the threads their outcomes are published on. */
    Builder running(BatchScheduler scheduler, Executor publisher) {
      this.scheduler = scheduler;
      this.publisher = publisher;
      return this;
    }

    Builder s3(S3Settings s3) {
      this.s3 = s3;
      return this;
    }

    Builder clock(Clock clock) {
      this.clock = clock;
      return this;
    }

    JobProcessor build() {
      return new JobProcessor(this);
    }
  }

  private boolean cancelled(String jobId) {
    return statuses.get(jobId).map(s -> s.status() == JobState.CANCELLED).orElse(false);
  }

  /**
   * Takes one record: admission, then either its whole handling here (skip, expire, dead-letter;
   * the ticket is done on return) or a job handed to the scheduler, whose outcome is published on
   * the publisher's threads and which marks the ticket done then.
   */
  void process(ConsumerRecord<String, byte[]> record, RecordTicket ticket) {
    Instant takenAt = clock.instant();
    RequestRecord request = RequestRecord.parse(record, signer, takenAt);
    Context producerContext = HeadersPropagation.extract(openTelemetry, record.headers());
    boolean continued = Span.fromContext(producerContext).getSpanContext().isValid();

    Span process = MessagingAttributes.process(
            tracer.spanBuilder("process " + record.topic()).setSpanKind(SpanKind.CONSUMER)
                .setParent(producerContext)
                .setStartTimestamp(takenAt), record, consumerGroup)
        .startSpan();
    // With a producer context, queue.wait is its child next to process; without one the trace
    // starts here, so queue.wait hangs under process (and starts before it).
    Context queueParent = continued ? producerContext : producerContext.with(process);
    Span queueWait = tracer.spanBuilder("queue.wait " + record.topic())
        .setParent(queueParent)
        .setStartTimestamp(request.enqueuedAt())
        .setAttribute(MessagingAttributes.SYSTEM, "kafka")
        .setAttribute(MessagingAttributes.DESTINATION, record.topic())
        .setAttribute("queue.enqueued_at_source", request.enqueuedAtSource())
        .startSpan();
    queueWait.end(takenAt);
    // enqueuedAt is never after takenAt nor before the epoch: no overflow, never negative.
    long queueWaitMs = Duration.between(request.enqueuedAt(), takenAt).toMillis();

    boolean handedOff = false;
    try (Scope ignored = process.makeCurrent()) {
      Admission decision = admission.decide(record, request, takenAt, queueWaitMs);
      process.setAttribute("job.admission", decision.getClass().getSimpleName().toLowerCase(
          Locale.ROOT));
      if (decision instanceof Admission.DeadLetter refuse) {
        process.setStatus(StatusCode.ERROR, refuse.code().name());
        outcomes.deadLetter(record, refuse);
      } else if (decision instanceof Admission.Conflict conflict) {
        process.setStatus(StatusCode.ERROR, ErrorCode.JOB_ID_CONFLICT.name());
        outcomes.count(conflict.job(), "conflict");
        outcomes.deadLetter(record, new Admission.DeadLetter(ErrorCode.JOB_ID_CONFLICT,
            conflict.message(), Optional.empty()));
      } else if (decision instanceof Admission.Duplicate duplicate) {
        process.setAttribute("job.duplicate", true);
        skipped(duplicate.job(), "duplicate", duplicate.reason());
      } else if (decision instanceof Admission.Cancelled cancelled) {
        process.setAttribute("job.duplicate", false);
        skipped(cancelled.job(), "cancelled", "the job was cancelled before it ran");
      } else if (decision instanceof Admission.Expired expired) {
        outcomes.expired(expired, queueWaitMs);
      } else if (decision instanceof Admission.Run run) {
        start(process, run.job(), run.running(), queueWaitMs, ticket);
        handedOff = true;
      }
    } finally {
      if (!handedOff) {
        process.end();
      }
      MDC.remove("job_id");
    }
    if (!handedOff) {
      ticket.done();
    }
  }

  private void skipped(Job job, String outcome, String reason) {
    outcomes.count(job, outcome);
    log.atInfo().addKeyValue("event", "job.skipped").addKeyValue("outcome", outcome)
        .log("record not run: {}", reason);
  }

  /**
   * Announces RUNNING without waiting for its acknowledgement and hands the job to the
   * scheduler; its outcome goes to {@link OutcomePublisher#finish}.
   */
  private void start(Span process, Job job, JobStatus running, long queueWaitMs,
      RecordTicket ticket) {
    CompletableFuture<RecordMetadata> runningAck = sender.publishStatusAsync(running);
    logStarted(job, queueWaitMs);
    local.started(job.jobId(), ticket,
        new LocalJobs.Owner(running.requestSha256(), running.tenant()));
    long start = System.nanoTime();
    Context context = Context.current();
    BatchJob batchJob = BatchJob.of(job, running.tenant(), context, () -> cancelled(job.jobId()),
        outcome -> publisher.execute(() -> outcomes.finish(new OutcomePublisher.Finishing(process,
            job, running, runningAck, ticket, queueWaitMs, start), outcome)));
    // A revoked partition's record comes back (to this consumer or another): the run given up
    // on must not make that record a duplicate.
    ticket.onRevoke(() -> {
      batchJob.abandon();
      local.ended(job.jobId(), ticket);
    });
    scheduler.submit(batchJob);
  }

  /**
   * A record the processor failed on unexpectedly (a bug it triggers): to the DLQ, with no
   * status, so it can be looked at; the loop goes on with the next record.
   */
  void poison(ConsumerRecord<String, byte[]> record, RuntimeException failure) {
    outcomes.deadLetter(record, new Admission.DeadLetter(ErrorCode.INTERNAL,
        "unexpected failure: " + failure, Optional.empty()));
  }

  private void logStarted(Job job, long queueWaitMs) {
    var event = log.atInfo().addKeyValue("event", "job.started")
        .addKeyValue("task", job.task().wireName())
        .addKeyValue("model_id", job.modelId())
        .addKeyValue("queue_wait_ms", queueWaitMs);
    if (job.input() instanceof Txt2ImgInput in) {
      event = event.addKeyValue("prompt_hash", fingerprints.promptHash(in.prompt()))
          .addKeyValue("sampler", in.sampler()).addKeyValue("steps", in.steps())
          .addKeyValue("cfg_scale", in.cfgScale()).addKeyValue("seed", in.seed());
    }
    event.log("job started");
  }
}
