package dev.inferpipe.consumer;

import dev.inferpipe.consumer.model.DiffusionModel;
import dev.inferpipe.consumer.model.LoadedModel;
import dev.inferpipe.consumer.model.VqaModel;
import dev.inferpipe.consumer.model.ModelCache;
import dev.inferpipe.consumer.model.ModelLoadException;
import dev.inferpipe.consumer.pipeline.GeneratedImage;
import dev.inferpipe.consumer.pipeline.JobCancelledException;
import dev.inferpipe.consumer.pipeline.JobFailedException;
import dev.inferpipe.core.job.Fingerprints;
import dev.inferpipe.core.kafka.RecordLimits;
import dev.inferpipe.core.kafka.RecordSigner;
import dev.inferpipe.core.kafka.RequestRecord;
import dev.inferpipe.core.kafka.SendRejectedException;
import dev.inferpipe.core.kafka.StatusTable;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.RecordTooLargeException;
import dev.inferpipe.consumer.pipeline.Txt2ImgPipeline;
import dev.inferpipe.consumer.pipeline.VqaAnswer;
import dev.inferpipe.consumer.pipeline.VqaPipeline;
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
 * announce RUNNING, run the model, and produce the output. Whatever happens, the record ends in
 * exactly one place: an output record, a FAILED/EXPIRED status, the DLQ, or nowhere when it is a
 * duplicate. The caller commits the offset only after this method returns, i.e. after those
 * records were acknowledged.
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
  private final ModelCache models;
  private final Txt2ImgPipeline txt2img;
  private final VqaPipeline vqa;
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
      JobDefaults defaults, ModelCache models, Txt2ImgPipeline txt2img, VqaPipeline vqa,
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
    this.models = parts.models();
    this.txt2img = parts.txt2img();
    this.vqa = parts.vqa();
    this.clock = parts.clock();
    this.statuses = parts.statuses();
    this.signer = parts.signer();
    this.fingerprints = parts.fingerprints();
    this.direct = parts.direct();
  }

  private boolean cancelled(String jobId) {
    return statuses.get(jobId).map(s -> s.status() == JobState.CANCELLED).orElse(false);
  }

  void process(ConsumerRecord<String, byte[]> record) {
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
        run(process, run.job(), run.running(), queueWaitMs);
      }
    } finally {
      process.end();
      MDC.remove("job_id");
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

  private void run(Span process, Job job, JobStatus running, long queueWaitMs) {
    RecordMetadata runningAt = sender.publishStatus(running);
    logStarted(job, queueWaitMs);

    long start = System.nanoTime();
    String outcome = "completed";
    try {
      LoadedModel model = models.get(job.modelId());
      OutputRecord output = run(job, model, running, runningAt, queueWaitMs, start);
      // Decide on what every reader saw before our RUNNING: a cancel that won stops us here.
      statuses.awaitApplied(runningAt, READ_BACK_TIMEOUT);
      if (statuses.get(job.jobId()).map(s -> s.status().isTerminal()).orElse(false)) {
        throw new JobCancelledException();
      }
      if (output.value().length > RecordLimits.MAX_OUTPUT_BYTES) {
        throw new JobFailedException(ErrorCode.TOO_LARGE, "the output is " + output.value().length
            + " bytes; the limit is " + RecordLimits.MAX_OUTPUT_BYTES);
      }
      try {
        sender.send(new ProducerRecord<>(topics.outputs(), null, job.jobId(), output.value(),
            output.headers()));
      } catch (SendRejectedException e) {
        throw new JobFailedException(e.getCause() instanceof RecordTooLargeException
            ? ErrorCode.TOO_LARGE : ErrorCode.INTERNAL, e.getMessage(), e);
      }
      synchronized (producedOutputs) {
        producedOutputs.add(job.jobId());
      }
      log.atInfo().addKeyValue("event", "job.output_produced")
          .addKeyValue("inference_time_ms", (System.nanoTime() - start) / 1_000_000)
          .addKeyValue("peak_memory_mb", PeakMemory.peakRssMegabytes())
          .addKeyValue("output_bytes", output.value().length)
          .log("output produced");
    } catch (JobCancelledException e) {
      // The API's CANCELLED is the job's one terminal status: nothing to publish, unless our
      // RUNNING landed after it and would be what compaction keeps.
      outcome = "cancelled";
      process.setAttribute("job.cancelled", true);
      statuses.awaitApplied(runningAt, READ_BACK_TIMEOUT);
      repairIfVoid(job.jobId());
      log.atInfo().addKeyValue("event", "job.cancelled").addKeyValue("status", "CANCELLED")
          .log("job stopped between steps: cancelled");
    } catch (JobFailedException | ModelLoadException e) {
      // Validation already proved the model is known; a load failure (missing file, checksum
      // mismatch, a bad config) is the model's fault, not the job's: INVALID_MODEL names it.
      ErrorCode code = e instanceof JobFailedException f ? f.code() : ErrorCode.INVALID_MODEL;
      outcome = "failed";
      fail(process, running, code, e);
    } catch (SendFailedException e) {
      // Kafka, not the job, failed: the record stays uncommitted and is run again.
      outcome = "redelivered";
      process.recordException(e);
      throw e;
    } catch (RuntimeException e) {
      outcome = "failed";
      fail(process, running, ErrorCode.INTERNAL, e);
    } finally {
      Timer.builder("inference.request.duration")
          .tags("task", job.task().wireName(), "model", job.modelId(), "status", outcome)
          .publishPercentileHistogram().register(registry)
          .record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
      count(job, outcome);
    }
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

  private OutputRecord run(Job job, LoadedModel model, JobStatus running, RecordMetadata runningAt,
      long queueWaitMs, long startNanos) {
    if (job.input() instanceof Txt2ImgInput in && model instanceof DiffusionModel diffusion) {
      GeneratedImage image = txt2img.run(diffusion, List.of(in), () -> cancelled(job.jobId()))
          .get(0);
      OutputMetadata meta = new OutputMetadata(job.jobId(), job.task(), job.modelId(),
          running.requestSha256(), running.traceId(), running.submittedAt(), running.startedAt(),
          queueWaitMs, elapsedMs(startNanos), "image.png", "image/png",
          fingerprints.promptHash(in.prompt()), in.seed(), in.steps(), in.sampler(), in.cfgScale(),
          in.width(), in.height(), image.unknownWords(), null, null, null, running.tenant(),
          runningAt.partition(), runningAt.offset());
      return new OutputRecord(image.png(), outputHeaders(meta));
    }
    if (job.input() instanceof VqaInput in && model instanceof VqaModel vqaModel) {
      VqaAnswer answer = vqa.run(vqaModel, in, running.tenant(), () -> cancelled(job.jobId()));
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
    throw new JobFailedException(ErrorCode.INVALID_JOB, "model '" + job.modelId()
        + "' cannot run task " + job.task().wireName());
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
