package dev.inferpipe.core.job;

import java.time.Instant;

/**
 * What the consumer knows about a finished job, sent as the {@code inferpipe-result} header of
 * its output record so the sink can write {@code result.json} and the terminal status without
 * reading the job again. Never contains prompt or question text. The sink believes none of its
 * ownership fields: tenant and request hash come from its status table, the content type from
 * the output file's name, and a VQA answer from the stored {@code answer.json}.
 *
 * @param outputFile the object name under the job's prefix ({@code image.png}, {@code answer.json})
 * @param unknownWords how many prompt or question words the model was not trained on (a count:
 *     never text)
 * @param runningPartition status-topic partition of the consumer's RUNNING event (the sink reads
 *     its status table up to it before deciding)
 * @param runningOffset that event's offset
 */
public record OutputMetadata(
    String jobId,
    Task task,
    String modelId,
    String requestSha256,
    String traceId,
    Instant submittedAt,
    Instant startedAt,
    long queueWaitMs,
    long inferenceMs,
    String outputFile,
    String contentType,
    String promptHash,
    Long seed,
    Integer steps,
    String sampler,
    Double cfgScale,
    Integer width,
    Integer height,
    Integer unknownWords,
    String answer,
    Double confidence,
    Boolean budgetExceeded,
    String tenant,
    Integer runningPartition,
    Long runningOffset) {

  public static final String HEADER = "inferpipe-result";
}
