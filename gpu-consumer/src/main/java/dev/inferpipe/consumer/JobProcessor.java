package dev.inferpipe.consumer;

import dev.inferpipe.consumer.batch.BatchJob;
import dev.inferpipe.consumer.batch.BatchOutcome;
import dev.inferpipe.consumer.batch.BatchScheduler;
import dev.inferpipe.core.kafka.RecordTicket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import dev.inferpipe.consumer.model.ModelLoadException;
import dev.inferpipe.consumer.pipeline.GeneratedImage;
import dev.inferpipe.consumer.pipeline.JobFailedException;
import dev.inferpipe.core.job.Fingerprints;
import dev.inferpipe.core.kafka.RecordLimits;
import dev.inferpipe.core.kafka.RecordSigner;
import dev.inferpipe.core.kafka.RequestRecord;
import dev.inferpipe.core.kafka.SendRejectedException;
import dev.inferpipe.core.kafka.StatusTable;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.RecordTooLargeException;
import dev.inferpipe.consumer.pipeline.VqaAnswer;
import dev.inferpipe.core.config.S3Settings;
import dev.inferpipe.core.config.Topics;
import dev.inferpipe.core.job.ErrorCode;
import dev.inferpipe.core.job.InvalidJobException;
import dev.inferpipe.core.job.Job;
import dev.inferpipe.core.job.JobCodec;
import dev.inferpipe.core.job.JobDefaults;
import dev.inferpipe.core.job.JobError;
import dev.inferpipe.core.job.JobId;
import dev.inferpipe.core.job.JobState;
import dev.inferpipe.core.job.JobStatus;
import dev.inferpipe.core.job.JobValidator;
import dev.inferpipe.core.job.OutputMetadata;
import dev.inferpipe.core.job.Txt2ImgInput;
import dev.inferpipe.core.job.VqaInput;
import dev.inferpipe.core.job.ValidatedJob;
import dev.inferpipe.core.kafka.AckedSender;
import dev.inferpipe.core.kafka.HeaderNames;
import dev.inferpipe.core.kafka.HeadersPropagation;
import dev.inferpipe.core.kafka.MessagingAttributes;
import dev.inferpipe.core.kafka.SendFailedException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Collections;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Handles one request record end to end: parse its key and headers once ({@link RequestRecord}),
 * continue its trace, record its queue wait, decide whether to run it ({@link Admission}),
 * announce RUNNING, hand the job to the {@link BatchScheduler}, and publish its outcome. Whatever
 * happens, the record ends in exactly one place: an output record, a FAILED/EXPIRED status, the
 * DLQ, or nowhere when it is a duplicate. The record's {@link RecordTicket} is done only once
 * those records were acknowledged; the loop commits no offset past it before that.
 *
 * <p>The topic is an untrusted boundary: only a record whose signature verifies carries a tenant
 * and a request hash; any other record is a direct publication, run as the configured direct
 * tenant (or refused). A record never acts on a job that another owner (tenant or request hash)
 * already holds: that is a {@code JOB_ID_CONFLICT} in the DLQ, and the first job is untouched.
 */
final class JobProcessor {
  private static final Logger log = LoggerFactory.getLogger(JobProcessor.class);
  /** How long to wait for the status table to read back this consumer's own RUNNING. */
  static final Duration READ_BACK_TIMEOUT = Duration.ofSeconds(10);

  /** What to do with a record, decided before anything is published. */
  sealed interface Admission {}

  /** Run the job; {@code running} is the RUNNING snapshot to publish. */
  record Run(Job job, JobStatus running) implements Admission {}

  /** Nothing to do: a duplicate of a job that ran, or one cancelled while queued. */
  record Skip(Job job, String outcome, String reason) implements Admission {}

  /** Waited past its ttl_seconds: publish EXPIRED. */
  record Expire(Job job, JobStatus running) implements Admission {}

  /**
   * Dead-letter the record; publish FAILED for {@code failJob} (present only when the record
   * owns that job id).
   */
  record Refuse(ErrorCode code, String message, Optional<JobStatus> failJob) implements Admission {}

  private final OpenTelemetry openTelemetry;
  private final Tracer tracer;
  private final MeterRegistry registry;
  private final AckedSender sender;
  private final Topics topics;
  private final S3Settings s3;
  private final String consumerGroup;
  private final JobCodec codec;
  private final JobValidator validator;
  private final JobDefaults defaults;
  private final BatchScheduler scheduler;
  private final Executor publisher;
  /** Jobs handed to the scheduler and not yet published: a second record of one is a duplicate. */
  private final Set<String> inFlight = ConcurrentHashMap.newKeySet();
  private final Clock clock;
  private final StatusTable statuses;
  private final RecordSigner signer;
  private final Fingerprints fingerprints;
  private final DirectPublishing direct;
  /** Jobs whose output this process produced; their SUCCEEDED may not be on the status topic yet. */
  private final Set<String> producedOutputs = Collections.newSetFromMap(
      new LinkedHashMap<>(256, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
          return size() > PRODUCED_OUTPUTS_REMEMBERED;
        }
      });
  static final int PRODUCED_OUTPUTS_REMEMBERED = 10_000;

  /** Whether records without a signature run, and as which tenant. */
  record DirectPublishing(boolean enabled, String tenant) {}

  /** Everything a processor works with; named, because there are many. */
  record Parts(OpenTelemetry openTelemetry, MeterRegistry registry, AckedSender sender,
      Topics topics, S3Settings s3, String consumerGroup, JobCodec codec, JobValidator validator,
      JobDefaults defaults, BatchScheduler scheduler, Executor publisher,
      Clock clock, StatusTable statuses, RecordSigner signer, Fingerprints fingerprints,
      DirectPublishing direct) {}

  JobProcessor(Parts parts) {
    this.openTelemetry = parts.openTelemetry();
    this.tracer = openTelemetry.getTracer("dev.inferpipe.consumer");
    this.registry = parts.registry();
    this.sender = parts.sender();
    this.topics = parts.topics();
    this.s3 = parts.s3();
    this.consumerGroup = parts.consumerGroup();
    this.codec = parts.codec();
    this.validator = parts.validator();
    this.defaults = parts.defaults();
    this.scheduler = parts.scheduler();
    this.publisher = parts.publisher();
    this.clock = parts.clock();
    this.statuses = parts.statuses();
    this.signer = parts.signer();
    this.fingerprints = parts.fingerprints();
    this.direct = parts.direct();
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
      Admission admission = admit(record, request, takenAt, queueWaitMs);
      process.setAttribute("job.admission", admission.getClass().getSimpleName().toLowerCase(
          java.util.Locale.ROOT));
      if (admission instanceof Refuse refuse) {
        process.setStatus(StatusCode.ERROR, refuse.code().name());
        deadLetter(record, refuse);
      } else if (admission instanceof Skip skip) {
        process.setAttribute("job.duplicate", skip.outcome().equals("duplicate"));
        count(skip.job(), skip.outcome());
        log.atInfo().addKeyValue("event", "job.skipped").addKeyValue("outcome", skip.outcome())
            .log("record not run: {}", skip.reason());
      } else if (admission instanceof Expire expire) {
        sender.publishStatus(expire.running().ended(JobState.EXPIRED, new JobError(
            ErrorCode.TIMEOUT, "waited " + queueWaitMs + " ms in the queue; ttl_seconds is "
            + expire.job().ttlSeconds()), clock.instant()));
        count(expire.job(), "expired");
        log.atInfo().addKeyValue("event", "job.expired").addKeyValue("queue_wait_ms", queueWaitMs)
            .log("job expired before it ran");
      } else if (admission instanceof Run run) {
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

  /**
   * Decides what a record may do, from its parsed headers, its body and the job's known status.
   * Nothing is published here.
   */
  Admission admit(ConsumerRecord<String, byte[]> record, RequestRecord request, Instant takenAt,
      long queueWaitMs) {
    if (request.origin() instanceof RequestRecord.Forged forged) {
      return new Refuse(ErrorCode.UNAUTHENTICATED, forged.reason(), Optional.empty());
    }
    if (request.origin() instanceof RequestRecord.Direct && !direct.enabled()) {
      return new Refuse(ErrorCode.UNAUTHENTICATED, "direct publishing to " + record.topic()
          + " is disabled: submit jobs through the API", Optional.empty());
    }
    String key = request.key();
    if (key != null && !JobId.isValid(key)) {
      return new Refuse(ErrorCode.INVALID_RECORD, "the record key is not a job id (it must match "
          + JobId.PATTERN.pattern() + ")", Optional.empty());
    }
    String tenant = request.tenant(direct.tenant());
    ValidatedJob valid;
    try {
      valid = validator.validate(record.value());
    } catch (InvalidJobException e) {
      return new Refuse(e.code(), e.getMessage(), readableJobId(record, key)
          .flatMap(id -> failedStatusFor(id, request, tenant, takenAt)));
    }
    String bodyId = valid.job().jobId();
    if (key != null && bodyId != null && !key.equals(bodyId)) {
      return new Refuse(ErrorCode.INVALID_RECORD, "the record key '" + key
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
        .publishPercentileHistogram().register(registry).record(Duration.ofMillis(queueWaitMs));

    boolean produced;
    synchronized (producedOutputs) {
      produced = producedOutputs.contains(job.jobId());
    }
    Optional<JobStatus> known = statuses.get(job.jobId());
    if (known.isPresent() && !(Objects.equals(known.get().requestSha256(), requestHash)
        && Objects.equals(known.get().tenant(), tenant))) {
      count(job, "conflict");
      return new Refuse(ErrorCode.JOB_ID_CONFLICT, "job_id '" + job.jobId()
          + "' already names another job (a different request or owner)", Optional.empty());
    }
    if (inFlight.contains(job.jobId())) {
      return new Skip(job, "duplicate", "the job is already running here; duplicate record");
    }
    if (produced || known.map(s -> s.status().isTerminal() || s.status() == JobState.STORING)
        .orElse(false)) {
      JobState state = known.map(JobStatus::status).orElse(JobState.STORING);
      return state == JobState.CANCELLED
          ? new Skip(job, "cancelled", "the job was cancelled before it ran")
          : new Skip(job, "duplicate", "the job already " + state + "; duplicate record");
    }
    String traceId = Span.current().getSpanContext().getTraceId();
    JobStatus base = known.orElseGet(() -> JobStatus.queued(job, requestHash, traceId,
        s3.outputPrefix(job.jobId()), request.enqueuedAt(), tenant));
    JobStatus running = base.running(takenAt, queueWaitMs);
    if (job.ttlSeconds() != null && queueWaitMs > job.ttlSeconds() * 1000L) {
      return new Expire(job, running);
    }
    return new Run(job, running);
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

  /**
   * Announces RUNNING without waiting for its acknowledgement and hands the job to the
   * scheduler; its outcome comes back on {@link #finish}.
   */
  private void start(Span process, Job job, JobStatus running, long queueWaitMs,
      RecordTicket ticket) {
    CompletableFuture<RecordMetadata> runningAck = sender.publishStatusAsync(running);
    logStarted(job, queueWaitMs);
    inFlight.add(job.jobId());
    long start = System.nanoTime();
    Context context = Context.current();
    BatchJob batchJob = BatchJob.of(job, running.tenant(), context, () -> cancelled(job.jobId()),
        outcome -> publisher.execute(() -> finish(new Finishing(process, job, running, runningAck,
            ticket, queueWaitMs, start), outcome)));
    ticket.onRevoke(batchJob::abandon);
    scheduler.submit(batchJob);
  }

  /** A job whose outcome is being published, and what its publication needs. */
  private record Finishing(Span process, Job job, JobStatus running,
      CompletableFuture<RecordMetadata> runningAck, RecordTicket ticket, long queueWaitMs,
      long startNanos) {}

  /**
   * Publishes a job's outcome, on a publisher thread. Kafka failures are retried with backoff
   * while the partition is ours (the steps are idempotent: outputs are keyed by job id); once it
   * is revoked nothing more is published and the record is left to the new owner.
   */
  private void finish(Finishing f, BatchOutcome outcome) {
    Duration wait = Duration.ofMillis(250);
    String result = "abandoned";
    try (Scope ignored = f.process().makeCurrent()) {
      MDC.put("job_id", f.job().jobId());
      while (true) {
        try {
          result = publish(f, outcome);
          break;
        } catch (SendFailedException e) {
          f.process().recordException(e);
          if (f.ticket().isRevoked()) {
            break;
          }
          log.atWarn().addKeyValue("event", "job.publish_retry")
              .addKeyValue("retry_in_ms", wait.toMillis())
              .log("could not publish the job's outcome; retrying: {}", e.getMessage());
          Thread.sleep(wait.toMillis());
          wait = wait.multipliedBy(2).compareTo(Duration.ofSeconds(5)) > 0
              ? Duration.ofSeconds(5) : wait.multipliedBy(2);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      result = "failed";
      log.atError().addKeyValue("event", "job.publish_failed").setCause(e)
          .log("could not publish the job's outcome: {}", e.toString());
    } finally {
      inFlight.remove(f.job().jobId());
      Job job = f.job();
      if (!result.equals("abandoned")) {
        Timer.builder("inference.request.duration")
            .tags("task", job.task().wireName(), "model", job.modelId(), "status", result)
            .publishPercentileHistogram().register(registry)
            .record(System.nanoTime() - f.startNanos(), TimeUnit.NANOSECONDS);
        count(job, result);
      }
      f.process().setAttribute("job.outcome", result);
      f.process().end();
      MDC.remove("job_id");
      if (result.equals("abandoned")) {
        f.ticket().release();
      } else {
        f.ticket().done();
      }
    }
  }

  /** One attempt at publishing an outcome; returns the outcome's metric name. */
  private String publish(Finishing f, BatchOutcome outcome) {
    Job job = f.job();
    Span process = f.process();
    if (outcome instanceof BatchOutcome.Abandoned) {
      process.setAttribute("job.abandoned", true);
      log.atInfo().addKeyValue("event", "job.abandoned")
          .log("job dropped: its partition was revoked or the consumer is stopping");
      return "abandoned";
    }
    RecordMetadata runningAt = awaitRunning(f);
    if (outcome instanceof BatchOutcome.Cancelled) {
      return cancelled(process, job, runningAt);
    }
    if (outcome instanceof BatchOutcome.Failed failed) {
      RuntimeException e = failed.cause();
      // Validation already proved the model is known; a load failure (missing file, checksum
      // mismatch, a bad config) is the model's fault, not the job's: INVALID_MODEL names it.
      ErrorCode code = e instanceof JobFailedException jf ? jf.code()
          : e instanceof ModelLoadException ? ErrorCode.INVALID_MODEL : ErrorCode.INTERNAL;
      fail(process, f.running(), code, e);
      return "failed";
    }
    OutputRecord output;
    try {
      output = output(job, outcome, f.running(), runningAt, f.queueWaitMs(), f.startNanos());
      // Decide on what every reader saw before our RUNNING: a cancel that won stops us here.
      statuses.awaitApplied(runningAt, READ_BACK_TIMEOUT);
      if (statuses.get(job.jobId()).map(s -> s.status().isTerminal()).orElse(false)) {
        return cancelled(process, job, runningAt);
      }
      if (output.value().length > RecordLimits.MAX_OUTPUT_BYTES) {
        throw new JobFailedException(ErrorCode.TOO_LARGE, "the output is " + output.value().length
            + " bytes; the limit is " + RecordLimits.MAX_OUTPUT_BYTES);
      }
    } catch (JobFailedException e) {
      fail(process, f.running(), e.code(), e);
      return "failed";
    }
    if (!f.ticket().beginPublish()) {
      return "abandoned";
    }
    try {
      sender.send(new ProducerRecord<>(topics.outputs(), null, job.jobId(), output.value(),
          output.headers()));
    } catch (SendRejectedException e) {
      fail(process, f.running(), e.getCause() instanceof RecordTooLargeException
          ? ErrorCode.TOO_LARGE : ErrorCode.INTERNAL, e);
      return "failed";
    } finally {
      f.ticket().endPublish();
    }
    synchronized (producedOutputs) {
      producedOutputs.add(job.jobId());
    }
    log.atInfo().addKeyValue("event", "job.output_produced")
        .addKeyValue("inference_time_ms", (System.nanoTime() - f.startNanos()) / 1_000_000)
        .addKeyValue("peak_memory_mb", PeakMemory.peakRssMegabytes())
        .addKeyValue("output_bytes", output.value().length)
        .log("output produced");
    return "completed";
  }

  /**
   * The RUNNING status's acknowledgement, which every later status and output must follow; it
   * is sent again if it failed.
   */
  private RecordMetadata awaitRunning(Finishing f) {
    try {
      return f.runningAck().get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SendFailedException("interrupted while waiting for RUNNING", e);
    } catch (java.util.concurrent.ExecutionException e) {
      if (e.getCause() instanceof SendFailedException) {
        return sender.publishStatus(f.running());
      }
      throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e);
    }
  }

  /**
   * The API's CANCELLED is the job's one terminal status: nothing to publish, unless our RUNNING
   * landed after it and would be what compaction keeps.
   */
  private String cancelled(Span process, Job job, RecordMetadata runningAt) {
    process.setAttribute("job.cancelled", true);
    statuses.awaitApplied(runningAt, READ_BACK_TIMEOUT);
    repairIfVoid(job.jobId());
    log.atInfo().addKeyValue("event", "job.cancelled").addKeyValue("status", "CANCELLED")
        .log("job stopped between steps: cancelled");
    return "cancelled";
  }

  /** Republishes the job's winning status when the topic's last event for it is one that lost. */
  private void repairIfVoid(String jobId) {
    if (statuses.needsRepair(jobId)) {
      statuses.get(jobId).ifPresent(sender::publishStatus);
      log.atInfo().addKeyValue("event", "status.repaired").log("republished the winning status");
    }
  }

  /**
   * A record the processor failed on unexpectedly (a bug it triggers): to the DLQ, with no
   * status, so it can be looked at; the loop goes on with the next record.
   */
  void poison(ConsumerRecord<String, byte[]> record, RuntimeException failure) {
    deadLetter(record, new Refuse(ErrorCode.INTERNAL, "unexpected failure: " + failure,
        Optional.empty()));
  }

  private record OutputRecord(byte[] value, RecordHeaders headers) {}

  private OutputRecord output(Job job, BatchOutcome outcome, JobStatus running,
      RecordMetadata runningAt, long queueWaitMs, long startNanos) {
    if (job.input() instanceof Txt2ImgInput in && outcome instanceof BatchOutcome.Image done) {
      GeneratedImage image = done.image();
      OutputMetadata meta = new OutputMetadata(job.jobId(), job.task(), job.modelId(),
          running.requestSha256(), running.traceId(), running.submittedAt(), running.startedAt(),
          queueWaitMs, elapsedMs(startNanos), "image.png", "image/png",
          fingerprints.promptHash(in.prompt()), in.seed(), in.steps(), in.sampler(), in.cfgScale(),
          in.width(), in.height(), image.unknownWords(), null, null, null, running.tenant(),
          runningAt.partition(), runningAt.offset());
      return new OutputRecord(image.png(), outputHeaders(meta));
    }
    if (job.input() instanceof VqaInput && outcome instanceof BatchOutcome.Answer done) {
      VqaAnswer answer = done.answer();
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("job_id", job.jobId());
      body.put("answer", answer.answer());
      body.put("confidence", answer.confidence());
      body.put("tokens", answer.tokens());
      body.put("budget_exceeded", answer.budgetExceeded());
      body.put("unknown_words", answer.unknownWords());
      OutputMetadata meta = new OutputMetadata(job.jobId(), job.task(), job.modelId(),
          running.requestSha256(), running.traceId(), running.submittedAt(), running.startedAt(),
          queueWaitMs, elapsedMs(startNanos), "answer.json", "application/json", null, null, null,
          null, null, null, null, answer.unknownWords(), answer.answer(),
          answer.confidence(), answer.budgetExceeded(), running.tenant(), runningAt.partition(),
          runningAt.offset());
      Span.current().setAttribute("vqa.answer", answer.answer());
      return new OutputRecord(codec.encode(body), outputHeaders(meta));
    }
    throw new IllegalStateException("a " + job.task().wireName() + " job ended with " + outcome);
  }

  private RecordHeaders outputHeaders(OutputMetadata meta) {
    RecordHeaders headers = new RecordHeaders();
    HeaderNames.put(headers, HeaderNames.CONTENT_TYPE, meta.contentType());
    HeaderNames.put(headers, HeaderNames.SCHEMA_VERSION, HeaderNames.SCHEMA_V1);
    headers.add(OutputMetadata.HEADER, codec.encode(meta));
    return headers;
  }

  /** FAILED, unless a terminal status (a cancel) already won: the first terminal is final. */
  private void fail(Span process, JobStatus running, ErrorCode code, Exception e) {
    process.recordException(e);
    process.setStatus(StatusCode.ERROR, code.name());
    if (statuses.get(running.jobId()).map(s -> s.status().isTerminal()).orElse(false)) {
      return;
    }
    sender.publishStatus(running.ended(JobState.FAILED, new JobError(code, e.getMessage()),
        clock.instant()));
    log.atWarn().addKeyValue("event", "job.failed").addKeyValue("error_code", code.name())
        .addKeyValue("status", "FAILED").log("job FAILED: {}", e.getMessage());
  }

  /** The original key and value go to the DLQ with why, and FAILED where the record owns the job. */
  private void deadLetter(ConsumerRecord<String, byte[]> record, Refuse refuse) {
    sender.deadLetter(record, refuse.code(), refuse.message());
    registry.counter("inference.dlq.records", "code", refuse.code().name()).increment();
    refuse.failJob().ifPresent(job -> sender.publishStatus(job.ended(JobState.FAILED,
        new JobError(refuse.code(), truncate(refuse.message(), 1000)), clock.instant())));
    log.atWarn().addKeyValue("event", "job.dead_lettered").addKeyValue("error_code", refuse.code().name())
        .addKeyValue("job_id", refuse.failJob().map(JobStatus::jobId).orElse(null))
        .addKeyValue("offset", record.offset())
        .log("record sent to the DLQ: {}", truncate(refuse.message(), 300));
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

  private static long elapsedMs(long startNanos) {
    return (System.nanoTime() - startNanos) / 1_000_000;
  }

  private static String truncate(String text, int max) {
    String t = text == null ? "" : text;
    return t.length() <= max ? t : t.substring(0, max) + "...";
  }

  private void count(Job job, String outcome) {
    Counter.builder("inference.jobs").tags("task", job.task().wireName(), "model", job.modelId(),
        "outcome", outcome).register(registry).increment();
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
