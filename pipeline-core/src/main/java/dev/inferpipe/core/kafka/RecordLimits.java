package dev.inferpipe.core.kafka;

/**
 * Record sizes every part of the pipeline agrees on: the topics' {@code max.message.bytes}
 * (provisioner, Terraform's MSK configuration), the producers' {@code max.request.size} and the
 * consumers' fetch sizes. Outputs may be up to {@link #MAX_OUTPUT_BYTES}; the headroom above it
 * holds the headers a DLQ copy adds.
 */
public final class RecordLimits {
  /** Topic {@code max.message.bytes} and producer {@code max.request.size}: 10 MiB. */
  public static final int MAX_RECORD_BYTES = 10 * 1024 * 1024;
  /** The largest output (PNG or answer JSON) a job may produce: 8 MiB. */
  public static final int MAX_OUTPUT_BYTES = 8 * 1024 * 1024;
  /** An interpreted header's value above this is malformed (ids, hashes, times are short). */
  public static final int MAX_HEADER_VALUE_BYTES = 256;
  /** A DLQ copy keeps at most this much of an original value that cannot fit whole. */
  public static final int DLQ_VALUE_PREFIX_BYTES = 64 * 1024;

  private RecordLimits() {}
}
