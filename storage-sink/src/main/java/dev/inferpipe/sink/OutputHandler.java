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
import io.micrometer.core.instrument.MeterRegistry;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Scope;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Stores one output: the object ({@code image.png} / {@code answer.json}), then
 * {@code result.json}, then the SUCCEEDED status. If S3 stays down past the retry bound, the job
 * becomes FAILED ({@code UNAVAILABLE}) and the output goes to the DLQ; an output is never dropped.
 * An output for a job that already has a terminal status (a redelivery after a crash between the
 * status and the offset commit, or a duplicate job) is skipped, so each job ends exactly once.
 */
final class OutputHandler {
  private static final Logger log = LoggerFactory.getLogger(OutputHandler.class);
  /** Object names the sink writes; anything else in the metadata is refused. */
  private static final Set<String> OUTPUT_FILES = Set.of("image.png", "answer.json");

  private final OpenTelemetry openTelemetry;
  private final Tracer tracer;
  private final MeterRegistry registry;
  private final AckedSender sender;
  private final ObjectWriter writer;
  private final S3Settings s3;
  private final String consumerGroup;
  private final JobCodec codec;
  private final Clock clock;
  private final Function<String, Optional<JobStatus>> knownStatus;

  /** @param knownStatus a job's latest status on the status topic, including this sink's writes */
  OutputHandler(OpenTelemetry openTelemetry, MeterRegistry registry, AckedSender sender,
      ObjectWriter writer, S3Settings s3, String consumerGroup, JobCodec codec, Clock clock,
      Function<String, Optional<JobStatus>> knownStatus) {
    this.openTelemetry = openTelemetry;
    this.tracer = openTelemetry.getTracer("dev.inferpipe.sink");
    this.registry = registry;
    this.sender = sender;
    this.writer = writer;
    this.s3 = s3;
    this.consumerGroup = consumerGroup;
    this.codec = codec;
    this.clock = clock;
    this.knownStatus = knownStatus;
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
      Optional<JobStatus> ended = knownStatus.apply(meta.jobId())
          .filter(s -> s.status().isTerminal());
      if (ended.isPresent()) {
        process.setAttribute("job.duplicate", true);
        registry.counter("inference.sink.duplicates").increment();
        log.atInfo().addKeyValue("event", "output.duplicate_skipped")
            .addKeyValue("status", ended.get().status().name())
            .log("job already ended; output not stored again");
        return;
      }
      String prefix = "outputs/" + meta.jobId() + "/";
      String outputLocation = "s3://" + s3.bucket() + "/" + prefix + meta.outputFile();
      int retries = 0;
      try {
        retries += writer.put(s3.bucket(), prefix + meta.outputFile(), meta.contentType(),
            record.value());
        retries += writer.put(s3.bucket(), prefix + "result.json", "application/json",
            codec.encode(resultDocument(meta, outputLocation)));
      } catch (StorageFailedException e) {
        retries += e.retries();
        process.setAttribute("storage.retries", (long) retries);
        process.recordException(e);
        process.setStatus(StatusCode.ERROR, "storage failed");
        sender.publishStatus(status(meta, JobState.FAILED, null,
            new JobError(ErrorCode.UNAVAILABLE, e.getMessage()), retries));
        deadLetter(record, ErrorCode.UNAVAILABLE, e.getMessage());
        registry.counter("inference.jobs", "task", meta.task().wireName(), "model", meta.modelId(),
            "status", "FAILED").increment();
        return;
      }
      process.setAttribute("storage.retries", (long) retries);
      sender.publishStatus(status(meta, JobState.SUCCEEDED, outputLocation, null, retries));
      registry.counter("inference.jobs", "task", meta.task().wireName(), "model", meta.modelId(),
          "status", "SUCCEEDED").increment();
      log.atInfo().addKeyValue("event", "job.succeeded").addKeyValue("status", "SUCCEEDED")
          .addKeyValue("model_id", meta.modelId()).addKeyValue("output_location", outputLocation)
          .addKeyValue("inference_time_ms", meta.inferenceMs())
          .addKeyValue("queue_wait_ms", meta.queueWaitMs())
          .addKeyValue("prompt_hash", meta.promptHash())
          .addKeyValue("storage_retries", retries)
          .log("output stored");
    } finally {
      process.end();
      MDC.remove("job_id");
    }
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
        } else if (!OUTPUT_FILES.contains(meta.outputFile())) {
          problem = "output_file must be one of " + OUTPUT_FILES;
        } else if (record.value() == null || record.value().length == 0) {
          problem = "empty output";
        } else {
          return meta;
        }
      } catch (RuntimeException e) {
        problem = "unreadable " + OutputMetadata.HEADER + ": " + e.getMessage();
      }
    }
    deadLetter(record, ErrorCode.INTERNAL, problem);
    return null;
  }

  private Map<String, Object> resultDocument(OutputMetadata meta, String outputLocation) {
    Map<String, Object> doc = new LinkedHashMap<>();
    doc.put("job", meta);
    doc.put("output_location", outputLocation);
    doc.put("stored_at", clock.instant());
    return doc;
  }

  private JobStatus status(OutputMetadata meta, JobState state, String outputLocation,
      JobError error, int storageRetries) {
    Instant now = clock.instant();
    return new JobStatus(meta.jobId(), state, meta.task(), meta.modelId(), meta.requestSha256(),
        meta.traceId(), meta.submittedAt(), meta.startedAt(), now, meta.queueWaitMs(),
        meta.inferenceMs(), outputLocation, meta.answer(), error, now, meta.tenant(),
        storageRetries);
  }

  private void deadLetter(ConsumerRecord<String, byte[]> record, ErrorCode code, String message) {
    sender.deadLetter(record, code, message);
    registry.counter("inference.dlq.records", "code", code.name()).increment();
    log.atWarn().addKeyValue("event", "output.dead_lettered").addKeyValue("error_code", code.name())
        .addKeyValue("offset", record.offset()).log("output sent to the DLQ: {}", message);
  }
}
