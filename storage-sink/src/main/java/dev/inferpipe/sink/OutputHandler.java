package dev.inferpipe.sink;

import dev.inferpipe.core.config.S3Settings;
import dev.inferpipe.core.job.ErrorCode;
import dev.inferpipe.core.job.JobCodec;
import dev.inferpipe.core.job.JobError;
import dev.inferpipe.core.job.JobId;
import dev.inferpipe.core.job.JobState;
import dev.inferpipe.core.job.JobStatus;
import dev.inferpipe.core.job.OutputMetadata;
import dev.inferpipe.core.kafka.AckedSender;
import dev.inferpipe.core.kafka.HeadersPropagation;
import dev.inferpipe.core.kafka.MessagingAttributes;
import dev.inferpipe.core.kafka.RecordLimits;
import dev.inferpipe.core.kafka.SendFailedException;
import dev.inferpipe.core.kafka.StatusTable;
import io.micrometer.core.instrument.MeterRegistry;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Scope;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Stores one output: writes the object ({@code image.png} / {@code answer.json}) and
 * {@code result.json} side by side while it claims the job (STORING), then publishes SUCCEEDED. If S3 stays down past
 * the retry bound, the job becomes FAILED ({@code UNAVAILABLE}) and the output goes to the DLQ;
 * an output is never dropped.
 *
 * <p>The outputs topic is not believed blindly. Only outputs of known, unfinished jobs whose
 * request hash matches the status table are stored; tenant and hash come from the table, the
 * content type from the file name (and the bytes must be what the name says), and the inline
 * VQA answer from the stored {@code answer.json}. Anything else is dead-lettered untouched.
 *
 * <p><b>Cancel versus store, one winner.</b> The sink publishes STORING and reads the status topic
 * back up to it. A CANCELLED before it wins: the output is not stored. A CANCELLED after it is
 * void (every status table ignores it) and the API answers that cancel with 409. The objects are
 * written while the claim is decided, since neither is visible to a user before SUCCEEDED names
 * them (this takes the claim's read-back off a job's path); a lost claim deletes them. So does a
 * later delivery of the output of a CANCELLED job, for a sink that died in between.
 */
final class OutputHandler {
  private static final Logger log = LoggerFactory.getLogger(OutputHandler.class);
  /** Object names the sink writes, with the content type each is stored under. */
  private static final Map<String, String> OUTPUT_FILES = Map.of(
      "image.png", "image/png", "answer.json", "application/json");
  private static final byte[] PNG_MAGIC = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  /** How long to wait for the status table to reach an event the output or this sink names. */
  static final Duration READ_BACK_TIMEOUT = Duration.ofSeconds(10);

  private final OpenTelemetry openTelemetry;
  private final Tracer tracer;
  private final MeterRegistry registry;
  private final AckedSender sender;
  private final ObjectWriter writer;
  private final S3Settings s3;
  private final String consumerGroup;
  private final JobCodec codec;
  private final Clock clock;
  private final StatusTable statuses;

  /** @param statuses the status table, including this sink's writes */
  OutputHandler(OpenTelemetry openTelemetry, MeterRegistry registry, AckedSender sender,
      ObjectWriter writer, S3Settings s3, String consumerGroup, JobCodec codec, Clock clock,
      StatusTable statuses) {
    this.openTelemetry = openTelemetry;
    this.tracer = openTelemetry.getTracer("dev.inferpipe.sink");
    this.registry = registry;
    registry.counter("inference.sink.duplicates"); // from 0, so rate() sees the first one
    this.sender = sender;
    this.writer = writer;
    this.s3 = s3;
    this.consumerGroup = consumerGroup;
    this.codec = codec;
    this.clock = clock;
    this.statuses = statuses;
  }

  void handle(ConsumerRecord<String, byte[]> record) throws InterruptedException {
    Span process = MessagingAttributes.process(tracer.spanBuilder("process " + record.topic())
            .setSpanKind(SpanKind.CONSUMER)
            .setParent(HeadersPropagation.extract(openTelemetry, record.headers())),
        record, consumerGroup).startSpan();
    try (Scope ignored = process.makeCurrent()) {
      OutputMetadata meta = metadata(record);
      if (meta == null) {
        process.setStatus(StatusCode.ERROR, "invalid output record");
        return;
      }
      MDC.put("job_id", meta.jobId());
      process.setAttribute("job.id", meta.jobId());
      if (meta.runningPartition() != null && meta.runningOffset() != null
          && meta.runningPartition() >= 0 && meta.runningOffset() >= 0) {
        statuses.awaitApplied(meta.runningPartition(), meta.runningOffset(), READ_BACK_TIMEOUT);
      }
      Optional<JobStatus> known = statuses.get(meta.jobId());
      if (known.isEmpty()) {
        refuse(process, record, ErrorCode.UNKNOWN_JOB,
            "no status announces job '" + meta.jobId() + "'; output not stored");
        return;
      }
      if (known.get().status().isTerminal()) {
        if (known.get().status() == JobState.CANCELLED) {
          deleteStrays(meta);
        }
        process.setAttribute("job.duplicate", true);
        registry.counter("inference.sink.duplicates").increment();
        log.atInfo().addKeyValue("event", "output.duplicate_skipped")
            .addKeyValue("status", known.get().status().name())
            .log("job already ended; output not stored again");
        return;
      }
      if (!Objects.equals(known.get().requestSha256(), meta.requestSha256())) {
        refuse(process, record, ErrorCode.JOB_ID_CONFLICT, "the output's request hash is not job '"
            + meta.jobId() + "''s; output not stored");
        return;
      }
      PendingPuts writes = writer.start(puts(meta, known.get(), record.value()));
      Optional<JobStatus> claimed;
      try {
        claimed = claim(known.get());
      } catch (RuntimeException e) {
        writes.abandon();
        throw e;
      }
      if (claimed.isEmpty()) {
        writes.abandon();
        process.setAttribute("job.cancelled", true);
        log.atInfo().addKeyValue("event", "output.cancelled")
            .log("job was cancelled before the sink claimed its output; its objects were deleted");
        return;
      }
      store(process, record, meta, claimed.get(), writes);
    } finally {
      process.end();
      MDC.remove("job_id");
    }
  }

  /**
   * Publishes STORING and reads the topic back up to it. Returns the claimed status, or empty
   * when a terminal status (a cancel) came first.
   */
  private Optional<JobStatus> claim(JobStatus status) {
    if (status.status() != JobState.STORING) {
      RecordMetadata where = sender.publishStatus(status.storing(clock.instant()));
      if (!statuses.awaitApplied(where, READ_BACK_TIMEOUT)) {
        throw new SendFailedException("the status table did not read back STORING within "
            + READ_BACK_TIMEOUT.toSeconds() + " s", null);
      }
    }
    JobStatus now = statuses.get(status.jobId()).orElse(status);
    if (now.status().isTerminal()) {
      if (statuses.needsRepair(status.jobId())) {
        sender.publishStatus(now); // our STORING must not be what compaction keeps
      }
      return Optional.empty();
    }
    return Optional.of(now);
  }

  /**
   * The output and its {@code result.json}. The document is built from the status before the
   * claim: STORING changes none of the fields it takes.
   */
  private List<ObjectWriter.Put> puts(OutputMetadata meta, JobStatus known, byte[] output) {
    List<String> keys = keys(meta);
    return List.of(
        new ObjectWriter.Put(s3.bucket(), keys.get(0), OUTPUT_FILES.get(meta.outputFile()), output),
        new ObjectWriter.Put(s3.bucket(), keys.get(1), "application/json",
            codec.encode(resultDocument(meta, known, location(meta)))));
  }

  /** The job's two object keys: its output, then {@code result.json}. */
  private static List<String> keys(OutputMetadata meta) {
    String prefix = "outputs/" + meta.jobId() + "/";
    return List.of(prefix + meta.outputFile(), prefix + "result.json");
  }

  private String location(OutputMetadata meta) {
    return "s3://" + s3.bucket() + "/" + keys(meta).get(0);
  }

  /** Removes what a sink that died after writing a cancelled job's objects left behind. */
  private void deleteStrays(OutputMetadata meta) throws InterruptedException {
    for (String key : keys(meta)) {
      writer.deleteOrLog(s3.bucket(), key);
    }
  }

  private void store(Span process, ConsumerRecord<String, byte[]> record, OutputMetadata meta,
      JobStatus claimed, PendingPuts writes) throws InterruptedException {
    String outputLocation = location(meta);
    String answer = meta.outputFile().equals("answer.json") ? answerOf(record.value()) : null;
    int retries = 0;
    try {
      // SUCCEEDED, published only after both, is what says the result is there.
      retries += writes.await();
    } catch (StorageFailedException e) {
      retries += e.retries();
      process.setAttribute("storage.retries", (long) retries);
      process.recordException(e);
      process.setStatus(StatusCode.ERROR, "storage failed");
      sender.publishStatus(claimed.storageFailed(clock.instant(), meta.inferenceMs(),
          new JobError(ErrorCode.UNAVAILABLE, e.getMessage()), retries));
      deadLetter(record, ErrorCode.UNAVAILABLE, e.getMessage());
      registry.counter("inference.jobs", "task", meta.task().wireName(), "model", meta.modelId(),
          "status", "FAILED").increment();
      return;
    }
    process.setAttribute("storage.retries", (long) retries);
    sender.publishStatus(claimed.stored(clock.instant(), meta.inferenceMs(), outputLocation, answer,
        retries));
    registry.counter("inference.jobs", "task", meta.task().wireName(), "model", meta.modelId(),
        "status", "SUCCEEDED").increment();
    log.atInfo().addKeyValue("event", "job.succeeded").addKeyValue("status", "SUCCEEDED")
        .addKeyValue("model_id", meta.modelId()).addKeyValue("output_location", outputLocation)
        .addKeyValue("inference_time_ms", meta.inferenceMs())
        .addKeyValue("queue_wait_ms", meta.queueWaitMs())
        .addKeyValue("prompt_hash", meta.promptHash())
        .addKeyValue("storage_retries", retries)
        .log("output stored");
  }

  /** The record's metadata, or null after dead-lettering a record that has none usable. */
  private OutputMetadata metadata(ConsumerRecord<String, byte[]> record) {
    var header = record.headers().lastHeader(OutputMetadata.HEADER);
    String problem;
    if (header == null || header.value() == null) {
      problem = "no " + OutputMetadata.HEADER + " header";
    } else {
      try {
        OutputMetadata meta = codec.decode(header.value(), OutputMetadata.class);
        if (!JobId.isValid(meta.jobId()) || !meta.jobId().equals(record.key())) {
          problem = "job_id missing, unsafe, or not the record key";
        } else if (meta.task() == null || meta.modelId() == null) {
          problem = "task and model_id are required";
        } else if (!OUTPUT_FILES.containsKey(meta.outputFile())) {
          problem = "output_file must be one of " + OUTPUT_FILES.keySet();
        } else if (record.value() == null || record.value().length == 0) {
          problem = "empty output";
        } else if (record.value().length > RecordLimits.MAX_OUTPUT_BYTES) {
          problem = "the output is " + record.value().length + " bytes; the limit is "
              + RecordLimits.MAX_OUTPUT_BYTES;
        } else if (!looksLike(meta.outputFile(), record.value())) {
          problem = "the output is not a " + meta.outputFile() + " (" + OUTPUT_FILES.get(
              meta.outputFile()) + ")";
        } else {
          return meta;
        }
      } catch (RuntimeException e) {
        problem = "unreadable " + OutputMetadata.HEADER + ": " + e.getMessage();
      }
    }
    deadLetter(record, ErrorCode.INVALID_RECORD, problem);
    return null;
  }

  /** The bytes are what the file name says: a PNG signature, or a JSON answer document. */
  private boolean looksLike(String file, byte[] value) {
    if (file.equals("image.png")) {
      return value.length > PNG_MAGIC.length
          && Arrays.equals(Arrays.copyOf(value, PNG_MAGIC.length), PNG_MAGIC);
    }
    return answerOf(value) != null;
  }

  /** The {@code answer} string of an answer.json body, or null when it has none. */
  private String answerOf(byte[] value) {
    try {
      var tree = codec.parseTree(value);
      var answer = tree == null ? null : tree.get("answer");
      return answer != null && answer.isString() ? answer.asString() : null;
    } catch (RuntimeException e) {
      return null;
    }
  }

  private Map<String, Object> resultDocument(OutputMetadata meta, JobStatus status,
      String outputLocation) {
    Map<String, Object> job = new LinkedHashMap<>();
    job.put("job_id", status.jobId());
    job.put("task", meta.task());
    job.put("model_id", meta.modelId());
    job.put("request_sha256", status.requestSha256());
    job.put("trace_id", status.traceId());
    job.put("submitted_at", status.submittedAt());
    job.put("started_at", status.startedAt());
    job.put("queue_wait_ms", status.queueWaitMs());
    job.put("inference_ms", meta.inferenceMs());
    job.put("output_file", meta.outputFile());
    job.put("content_type", OUTPUT_FILES.get(meta.outputFile()));
    job.put("prompt_hash", meta.promptHash());
    job.put("seed", meta.seed());
    job.put("steps", meta.steps());
    job.put("sampler", meta.sampler());
    job.put("cfg_scale", meta.cfgScale());
    job.put("width", meta.width());
    job.put("height", meta.height());
    job.put("unknown_words", meta.unknownWords());
    job.put("confidence", meta.confidence());
    job.put("budget_exceeded", meta.budgetExceeded());
    job.put("tenant", status.tenant());
    Map<String, Object> doc = new LinkedHashMap<>();
    doc.put("job", job);
    doc.put("output_location", outputLocation);
    doc.put("stored_at", clock.instant());
    return doc;
  }

  private void refuse(Span process, ConsumerRecord<String, byte[]> record, ErrorCode code,
      String message) {
    process.setStatus(StatusCode.ERROR, code.name());
    deadLetter(record, code, message);
  }

  /** A record the sink failed on unexpectedly: to the DLQ, so it can be looked at. */
  void poison(ConsumerRecord<String, byte[]> record, RuntimeException failure) {
    deadLetter(record, ErrorCode.INTERNAL, "unexpected failure: " + failure);
  }

  private void deadLetter(ConsumerRecord<String, byte[]> record, ErrorCode code, String message) {
    sender.deadLetter(record, code, message);
    registry.counter("inference.dlq.records", "code", code.name()).increment();
    log.atWarn().addKeyValue("event", "output.dead_lettered").addKeyValue("error_code", code.name())
        .addKeyValue("offset", record.offset()).log("output sent to the DLQ: {}", message);
  }
}
