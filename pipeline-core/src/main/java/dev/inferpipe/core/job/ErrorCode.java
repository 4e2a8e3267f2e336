package dev.inferpipe.core.job;

/** Machine-readable failure reasons carried in FAILED status events, DLQ headers and HTTP errors. */
public enum ErrorCode {
  /** The body or record value is not parseable JSON. */
  INVALID_JSON,
  /** The job violates the v1 JSON schema or a model's declared limits. */
  INVALID_JOB,
  /** No model with the job's model_id is known. */
  UNKNOWN_MODEL,
  /** The job's image could not be decoded as PNG or JPEG. */
  INVALID_IMAGE,
  /** The same job_id was submitted before with a different body. */
  JOB_ID_CONFLICT,
  /** Memory or another resource ran out while running the job. */
  RESOURCE_EXHAUSTED,
  /** A time budget was exceeded. */
  TIMEOUT,
  /** Kafka or S3 could not be reached in time. */
  UNAVAILABLE,
  /**
   * A Kafka record breaks the topic contract outside its value: its key is not a job id, or
   * differs from the body's {@code job_id}; an interpreted header is repeated or malformed.
   */
  INVALID_RECORD,
  /** A record claims to come from the API but its signature does not verify, or direct publishing is off. */
  UNAUTHENTICATED,
  /** An output names a job that no status announces (never submitted, or unknown to the sink). */
  UNKNOWN_JOB,
  /** A record or an output is larger than the pipeline's size limit. */
  TOO_LARGE,
  /**
   * The job's model cannot run: a file is missing or fails its checksum, the card or a config is
   * invalid, or a graph rejects well-formed inputs or returns the wrong shape. The message names
   * the model and the part.
   */
  INVALID_MODEL,
  /** Anything not covered above; the message says more. */
  INTERNAL
}
