package dev.inferpipe.core.job;

import java.time.Instant;
import java.util.List;

/**
 * What the consumer knows about a finished job, sent as the {@code inferpipe-result} header of
 * its output record so the sink can write {@code result.json} and the terminal status without
 * reading the job again. Never contains prompt or question text.
 *
 * @param outputFile the object name under the job's prefix ({@code image.png}, {@code answer.json})
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
    List<String> unknownWords,
    String answer,
    Double confidence,
    Boolean budgetExceeded,
    String tenant) {

  public static final String HEADER = "inferpipe-result";
}
