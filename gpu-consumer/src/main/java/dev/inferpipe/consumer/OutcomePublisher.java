package dev.inferpipe.consumer;

import dev.inferpipe.consumer.batch.BatchOutcome;
import dev.inferpipe.core.kafka.RecordTicket;
import java.util.concurrent.CompletableFuture;
import dev.inferpipe.consumer.model.ModelLoadException;
import dev.inferpipe.consumer.pipeline.GeneratedImage;
import dev.inferpipe.consumer.pipeline.JobFailedException;
import dev.inferpipe.core.job.Fingerprints;
import dev.inferpipe.core.kafka.RecordLimits;
import dev.inferpipe.core.kafka.SendRejectedException;
import dev.inferpipe.core.kafka.StatusTable;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.RecordTooLargeException;
import dev.inferpipe.consumer.pipeline.VqaAnswer;
import dev.inferpipe.core.config.Topics;
import dev.inferpipe.core.job.ErrorCode;
import dev.inferpipe.core.job.Job;
import dev.inferpipe.core.job.JobCodec;
import dev.inferpipe.core.job.JobError;
import dev.inferpipe.core.job.JobState;
import dev.inferpipe.core.job.JobStatus;
import dev.inferpipe.core.job.OutputMetadata;
import dev.inferpipe.core.job.Txt2ImgInput;
import dev.inferpipe.core.job.VqaInput;
import dev.inferpipe.core.kafka.AckedSender;
import dev.inferpipe.core.kafka.HeaderNames;
import dev.inferpipe.core.kafka.SendFailedException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.context.Scope;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Publishes what becomes of every record and job, on the publisher's threads or the loop's:
 * outputs, FAILED / EXPIRED statuses and dead letters. Every send waits for the broker's
 * acknowledgement before the record's ticket is done.
 */
final class OutcomePublisher {
  private static final Logger log = LoggerFactory.getLogger(OutcomePublisher.class);
  /** How long to wait for the status table to read back this consumer's own RUNNING. */
  static final Duration READ_BACK_TIMEOUT = Duration.ofSeconds(10);

  private final MeterRegistry registry;
  private final AckedSender sender;
  private final Topics topics;
  private final JobCodec codec;
  private final Clock clock;
  private final StatusTable statuses;
  private final Fingerprints fingerprints;
  private final LocalJobs local;

  OutcomePublisher(MeterRegistry registry, AckedSender sender, Topics topics, JobCodec codec,
      Clock clock, StatusTable statuses, Fingerprints fingerprints, LocalJobs local) {
    this.registry = registry;
    this.sender = sender;
    this.topics = topics;
    this.codec = codec;
    this.clock = clock;
    this.statuses = statuses;
    this.fingerprints = fingerprints;
    this.local = local;
  }

  /** A job whose outcome is being published, and what its publication needs. */
  record Finishing(Span process, Job job, JobStatus running,
      CompletableFuture<RecordMetadata> runningAck, RecordTicket ticket, long queueWaitMs,
      long startNanos) {}

  /** Publishes EXPIRED for a job that waited past its ttl_seconds. */
  void expired(Admission.Expired expired, long queueWaitMs) {
    sender.publishStatus(expired.running().ended(JobState.EXPIRED, new JobError(
        ErrorCode.TIMEOUT, "waited " + queueWaitMs + " ms in the queue; ttl_seconds is "
        + expired.job().ttlSeconds()), clock.instant()));
    count(expired.job(), "expired");
    log.atInfo().addKeyValue("event", "job.expired").addKeyValue("queue_wait_ms", queueWaitMs)
        .log("job expired before it ran");
  }

  private record OutputRecord(byte[] value, RecordHeaders headers) {}

  /**
   * Publishes a job's outcome, on a publisher thread. Kafka failures are retried with backoff
   * while the partition is ours (the steps are idempotent: outputs are keyed by job id); once it
   * is revoked nothing more is published and the record is left to the new owner.
   */
  void finish(Finishing f, BatchOutcome outcome) {
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
      local.ended(f.job().jobId(), f.ticket());
      Job job = f.job();
      if (!result.equals("abandoned")) {
        // With the job's span current, so the sample's exemplar is this job's trace.
        try (Scope current = f.process().makeCurrent()) {
          Timer.builder("inference.request.duration")
              .tags("task", job.task().wireName(), "model", job.modelId(), "status", result)
              .register(registry)
              .record(System.nanoTime() - f.startNanos(), TimeUnit.NANOSECONDS);
        }
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
    local.produced(job.jobId(),
        new LocalJobs.Owner(f.running().requestSha256(), f.running().tenant()));
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
  void deadLetter(ConsumerRecord<String, byte[]> record, Admission.DeadLetter refuse) {
    sender.deadLetter(record, refuse.code(), refuse.message());
    registry.counter("inference.dlq.records", "code", refuse.code().name()).increment();
    refuse.failJob().ifPresent(job -> sender.publishStatus(job.ended(JobState.FAILED,
        new JobError(refuse.code(), truncate(refuse.message(), 1000)), clock.instant())));
    log.atWarn().addKeyValue("event", "job.dead_lettered").addKeyValue("error_code", refuse.code().name())
        .addKeyValue("job_id", refuse.failJob().map(JobStatus::jobId).orElse(null))
        .addKeyValue("offset", record.offset())
        .log("record sent to the DLQ: {}", truncate(refuse.message(), 300));
  }

  private static long elapsedMs(long startNanos) {
    return (System.nanoTime() - startNanos) / 1_000_000;
  }

  private static String truncate(String text, int max) {
    String t = text == null ? "" : text;
    return t.length() <= max ? t : t.substring(0, max) + "...";
  }

  void count(Job job, String outcome) {
    Counter.builder("inference.jobs").tags("task", job.task().wireName(), "model", job.modelId(),
        "outcome", outcome).register(registry).increment();
  }
}
