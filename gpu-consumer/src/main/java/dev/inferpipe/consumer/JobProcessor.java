package dev.inferpipe.consumer;

import dev.inferpipe.consumer.model.LoadedModel;
import dev.inferpipe.consumer.model.ModelCache;
import dev.inferpipe.consumer.model.ModelLoadException;
import dev.inferpipe.consumer.pipeline.GeneratedImage;
import dev.inferpipe.consumer.pipeline.JobCancelledException;
import dev.inferpipe.consumer.pipeline.JobFailedException;
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
import dev.inferpipe.core.job.Sha256;
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
import java.util.Optional;
import java.util.Collections;
import java.util.Set;
import java.util.function.Function;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Handles one request record end to end: continue its trace, record its queue wait, validate it,
 * announce RUNNING, run the model, and produce the output. Whatever happens, the record ends in
 * exactly one place: an output record, a FAILED/EXPIRED status, or the DLQ. The caller commits the
 * offset only after this method returns, i.e. after those records were acknowledged.
 */
final class JobProcessor {
  private static final Logger log = LoggerFactory.getLogger(JobProcessor.class);

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
  private final Function<String, Optional<JobStatus>> knownStatus;
  /** Jobs whose output this process produced; their SUCCEEDED may not be on the status topic yet. */
  private final Set<String> producedOutputs = Collections.newSetFromMap(
      new LinkedHashMap<>(256, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
          return size() > PRODUCED_OUTPUTS_REMEMBERED;
        }
      });
  static final int PRODUCED_OUTPUTS_REMEMBERED = 10_000;

  /**
   * @param knownStatus a job's latest status on the status topic (including this process's own
   *     writes): cancellations and finished jobs are read from it
   */
  JobProcessor(OpenTelemetry openTelemetry, MeterRegistry registry, AckedSender sender,
      Topics topics, S3Settings s3, String consumerGroup, JobCodec codec, JobValidator validator,
      JobDefaults defaults, ModelCache models, Txt2ImgPipeline txt2img, VqaPipeline vqa, Clock clock,
      Function<String, Optional<JobStatus>> knownStatus) {
    this.openTelemetry = openTelemetry;
    this.tracer = openTelemetry.getTracer("dev.inferpipe.consumer");
    this.registry = registry;
    this.sender = sender;
    this.topics = topics;
    this.s3 = s3;
    this.consumerGroup = consumerGroup;
    this.codec = codec;
    this.validator = validator;
    this.defaults = defaults;
    this.models = models;
    this.txt2img = txt2img;
    this.vqa = vqa;
    this.clock = clock;
    this.knownStatus = knownStatus;
  }

  private boolean cancelled(String jobId) {
    return knownStatus.apply(jobId).map(s -> s.status() == JobState.CANCELLED).orElse(false);
  }

  void process(ConsumerRecord<String, byte[]> record) {
    Instant takenAt = clock.instant();
    Context producerContext = HeadersPropagation.extract(openTelemetry, record.headers());
    boolean continued = Span.fromContext(producerContext).getSpanContext().isValid();
    Instant enqueuedAt = enqueuedAt(record);

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
        .setStartTimestamp(enqueuedAt)
        .setAttribute(MessagingAttributes.SYSTEM, "kafka")
        .setAttribute(MessagingAttributes.DESTINATION, record.topic())
        .setAttribute("queue.enqueued_at_source",
            HeaderNames.get(record.headers(), HeaderNames.ENQUEUED_AT_MS).isPresent()
                ? "header" : "record_timestamp")
        .startSpan();
    queueWait.end(takenAt);
    long queueWaitMs = Math.max(0, Duration.between(enqueuedAt, takenAt).toMillis());

    try (Scope ignored = process.makeCurrent()) {
      handle(record, process, enqueuedAt, takenAt, queueWaitMs);
    } finally {
      process.end();
      MDC.remove("job_id");
    }
  }

  private void handle(ConsumerRecord<String, byte[]> record, Span process, Instant enqueuedAt,
      Instant takenAt, long queueWaitMs) {
    ValidatedJob valid;
    try {
      valid = validator.validate(record.value());
    } catch (InvalidJobException e) {
      process.setStatus(StatusCode.ERROR, e.code().name());
      deadLetter(record, e.code(), e.getMessage(), readableJobId(record), enqueuedAt);
      return;
    }
    Job job = defaults.apply(valid.job().jobId() != null ? valid.job()
        : valid.job().withJobId(JobId.isValid(record.key()) ? record.key() : null), valid.model());
    MDC.put("job_id", job.jobId());
    process.setAttribute("job.id", job.jobId());
    process.setAttribute("job.task", job.task().wireName());
    process.setAttribute("model.id", job.modelId());
    String traceId = process.getSpanContext().getTraceId();
    JobStatus running = new JobStatus(job.jobId(), JobState.QUEUED, job.task(), job.modelId(),
        HeaderNames.get(record.headers(), HeaderNames.REQUEST_SHA256).orElse(null), traceId,
        enqueuedAt, null, null, null, null, s3.outputPrefix(job.jobId()), null, null, enqueuedAt,
        HeaderNames.get(record.headers(), HeaderNames.TENANT).orElse(null), null)
        .running(takenAt, queueWaitMs);
    Timer.builder("inference.queue.wait").tags("task", job.task().wireName(), "model", job.modelId())
        .publishPercentileHistogram().register(registry).record(Duration.ofMillis(queueWaitMs));

    if (alreadyFinished(record, job, enqueuedAt)) {
      return;
    }
    if (cancelled(job.jobId())) {
      // Cancelled while queued: its status already says CANCELLED; nothing to run or publish.
      count(job, "cancelled");
      log.atInfo().addKeyValue("event", "job.skipped_cancelled").log("job was cancelled before it ran");
      return;
    }
    if (job.ttlSeconds() != null && queueWaitMs > job.ttlSeconds() * 1000L) {
      sender.publishStatus(running.ended(JobState.EXPIRED, new JobError(ErrorCode.TIMEOUT,
          "waited " + queueWaitMs + " ms in the queue; ttl_seconds is " + job.ttlSeconds()), clock.instant()));
      count(job, "expired");
      log.atInfo().addKeyValue("event", "job.expired").addKeyValue("queue_wait_ms", queueWaitMs)
          .log("job expired before it ran");
      return;
    }
    sender.publishStatus(running);
    logStarted(job, queueWaitMs);

    long start = System.nanoTime();
    String outcome = "completed";
    try {
      LoadedModel model = models.get(job.modelId());
      OutputRecord output = run(job, model, running, queueWaitMs, start);
      sender.send(new ProducerRecord<>(topics.outputs(), null, job.jobId(), output.value(), output.headers()));
      synchronized (producedOutputs) {
        producedOutputs.add(job.jobId());
      }
      log.atInfo().addKeyValue("event", "job.output_produced")
          .addKeyValue("inference_time_ms", (System.nanoTime() - start) / 1_000_000)
          .addKeyValue("peak_memory_mb", PeakMemory.peakRssMegabytes())
          .addKeyValue("output_bytes", output.value().length)
          .log("output produced");
    } catch (JobCancelledException e) {
      // The API's CANCELLED snapshot is the job's one terminal status: nothing to publish.
      outcome = "cancelled";
      process.setAttribute("job.cancelled", true);
      log.atInfo().addKeyValue("event", "job.cancelled").addKeyValue("status", "CANCELLED")
          .log("job stopped between steps: cancelled");
    } catch (JobFailedException | ModelLoadException e) {
      // Validation already proved the model is known; a load failure (missing file, checksum
      // mismatch) is this deployment's fault, not the job's.
      ErrorCode code = e instanceof JobFailedException f ? f.code() : ErrorCode.INTERNAL;
      outcome = "failed";
      fail(process, running, JobState.FAILED, code, e);
    } catch (SendFailedException e) {
      // Kafka, not the job, failed: the record stays uncommitted and is run again.
      outcome = "redelivered";
      process.recordException(e);
      throw e;
    } catch (RuntimeException e) {
      outcome = "failed";
      fail(process, running, JobState.FAILED, ErrorCode.INTERNAL, e);
    } finally {
      Timer.builder("inference.request.duration")
          .tags("task", job.task().wireName(), "model", job.modelId(), "status", outcome)
          .publishPercentileHistogram().register(registry)
          .record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
      count(job, outcome);
    }
  }

  /**
   * A job id names one job, run once: a record for a job that already ended (or whose output this
   * process produced) is a duplicate delivery or publication and is not run again. One that
   * carries a different request hash is another job reusing the id: it goes to the DLQ, and the
   * first job's status is left alone.
   */
  private boolean alreadyFinished(ConsumerRecord<String, byte[]> record, Job job, Instant enqueuedAt) {
    Optional<JobStatus> latest = knownStatus.apply(job.jobId());
    Optional<JobStatus> known = latest
        .filter(s -> s.status().isTerminal() && s.status() != JobState.CANCELLED);
    boolean produced;
    synchronized (producedOutputs) {
      produced = producedOutputs.contains(job.jobId());
    }
    if (known.isEmpty() && !produced) {
      return false;
    }
    Optional<String> recordSha = HeaderNames.get(record.headers(), HeaderNames.REQUEST_SHA256);
    Optional<String> knownSha = latest.map(JobStatus::requestSha256);
    if (recordSha.isPresent() && knownSha.isPresent() && !recordSha.equals(knownSha)) {
      Span.current().setStatus(StatusCode.ERROR, ErrorCode.JOB_ID_CONFLICT.name());
      deadLetter(record, ErrorCode.JOB_ID_CONFLICT, "job_id '" + job.jobId()
          + "' already names a different job (request_sha256 differs)", Optional.empty(), enqueuedAt);
      count(job, "conflict");
      return true;
    }
    Span.current().setAttribute("job.duplicate", true);
    count(job, "duplicate");
    log.atInfo().addKeyValue("event", "job.duplicate_skipped")
        .addKeyValue("status", known.map(s -> s.status().name()).orElse("OUTPUT_PRODUCED"))
        .log("job already finished; duplicate record not run");
    return true;
  }

  private record OutputRecord(byte[] value, RecordHeaders headers) {}

  private OutputRecord run(Job job, LoadedModel model, JobStatus running, long queueWaitMs,
      long startNanos) {
    if (job.input() instanceof Txt2ImgInput in && model instanceof LoadedModel.Diffusion diffusion) {
      GeneratedImage image = txt2img.run(diffusion, List.of(in), () -> cancelled(job.jobId()))
          .get(0);
      OutputMetadata meta = new OutputMetadata(job.jobId(), job.task(), job.modelId(),
          running.requestSha256(), running.traceId(), running.submittedAt(), running.startedAt(),
          queueWaitMs, elapsedMs(startNanos), "image.png", "image/png", Sha256.hex(in.prompt()),
          in.seed(), in.steps(), in.sampler(), in.cfgScale(), in.width(), in.height(),
          image.unknownWords(), null, null, null, running.tenant());
      return new OutputRecord(image.png(), outputHeaders(meta));
    }
    if (job.input() instanceof VqaInput in && model instanceof LoadedModel.Vqa vqaModel) {
      VqaAnswer answer = vqa.run(vqaModel, in, () -> cancelled(job.jobId()));
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
          null, null, null, null, answer.unknownWords(), answer.answer(), answer.confidence(),
          answer.budgetExceeded(), running.tenant());
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

  private void fail(Span process, JobStatus running, JobState state, ErrorCode code, Exception e) {
    process.recordException(e);
    process.setStatus(StatusCode.ERROR, code.name());
    sender.publishStatus(running.ended(state, new JobError(code, e.getMessage()), clock.instant()));
    log.atWarn().addKeyValue("event", "job.failed").addKeyValue("error_code", code.name())
        .addKeyValue("status", state.name()).log("job {}: {}", state, e.getMessage());
  }

  /**
   * The original key and value go to the DLQ with why, and a FAILED status if the job id is this
   * record's: unknown so far, or not ended and with this record's request hash (the API queued
   * it). A bad record must not end someone else's job, nor end its own twice.
   */
  private void deadLetter(ConsumerRecord<String, byte[]> record, ErrorCode code, String message,
      Optional<String> jobId, Instant enqueuedAt) {
    sender.deadLetter(record, code, message);
    registry.counter("inference.dlq.records", "code", code.name()).increment();
    String requestSha = HeaderNames.get(record.headers(), HeaderNames.REQUEST_SHA256).orElse(null);
    jobId.filter(id -> knownStatus.apply(id).map(s -> !s.status().isTerminal()
        && java.util.Objects.equals(s.requestSha256(), requestSha)).orElse(true)).ifPresent(id -> {
      Instant now = clock.instant();
      sender.publishStatus(new JobStatus(id, JobState.FAILED, null, null, requestSha,
          Span.current().getSpanContext().getTraceId(), enqueuedAt, null, now, null, null, null,
          null, new JobError(code, truncate(message, 1000)), now,
          HeaderNames.get(record.headers(), HeaderNames.TENANT).orElse(null), null));
    });
    log.atWarn().addKeyValue("event", "job.dead_lettered").addKeyValue("error_code", code.name())
        .addKeyValue("job_id", jobId.orElse(null)).addKeyValue("offset", record.offset())
        .log("record sent to the DLQ: {}", truncate(message, 300));
  }

  /** The job id of an invalid record, if one can be read safely from its JSON or key. */
  private Optional<String> readableJobId(ConsumerRecord<String, byte[]> record) {
    try {
      var tree = codec.parseTree(record.value());
      var id = tree == null ? null : tree.get("job_id");
      if (id != null && id.isString() && JobId.isValid(id.asString())) {
        return Optional.of(id.asString());
      }
    } catch (RuntimeException e) {
      // Not JSON: fall through to the key.
    }
    return JobId.isValid(record.key()) ? Optional.of(record.key()) : Optional.empty();
  }

  private static Instant enqueuedAt(ConsumerRecord<String, byte[]> record) {
    return HeaderNames.get(record.headers(), HeaderNames.ENQUEUED_AT_MS)
        .flatMap(JobProcessor::parseLong)
        .map(Instant::ofEpochMilli)
        .orElse(Instant.ofEpochMilli(record.timestamp()));
  }

  private static Optional<Long> parseLong(String text) {
    try {
      return Optional.of(Long.parseLong(text.trim()));
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
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

  private static void logStarted(Job job, long queueWaitMs) {
    var event = log.atInfo().addKeyValue("event", "job.started")
        .addKeyValue("task", job.task().wireName())
        .addKeyValue("model_id", job.modelId())
        .addKeyValue("queue_wait_ms", queueWaitMs);
    if (job.input() instanceof Txt2ImgInput in) {
      event = event.addKeyValue("prompt_hash", Sha256.hex(in.prompt()))
          .addKeyValue("sampler", in.sampler()).addKeyValue("steps", in.steps())
          .addKeyValue("cfg_scale", in.cfgScale()).addKeyValue("seed", in.seed());
    }
    event.log("job started");
  }

}
