package dev.inferpipe.api;

import dev.inferpipe.core.s3.S3Uri;
import java.time.Duration;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;

/** Presigned GET URLs for a finished job's output, valid for a configured time. */
final class ResultLinks implements AutoCloseable {
  private final S3Presigner presigner;
  private final String bucket;
  private final Duration ttl;

  ResultLinks(S3Presigner presigner, String bucket, Duration ttl) {
    this.presigner = presigner;
    this.bucket = bucket;
    this.ttl = ttl;
  }

  Duration ttl() {
    return ttl;
  }

  /** Object names a job may have under {@code outputs/<job_id>/}; nothing else is ever signed. */
  static final java.util.Set<String> JOB_FILES = java.util.Set.of("image.png", "answer.json",
      "result.json");

  /**
   * Only {@code outputs/<job_id>/{image.png,answer.json,result.json}} of this job in the output
   * bucket: a status naming any other key (a forged or corrupted event) gets no link.
   */
  boolean canSign(S3Uri location, String jobId) {
    String prefix = "outputs/" + jobId + "/";
    return location.bucket().equals(bucket) && location.key().startsWith(prefix)
        && JOB_FILES.contains(location.key().substring(prefix.length()));
  }

  String presignGet(S3Uri location) {
    return presigner.presignGetObject(r -> r
            .signatureDuration(ttl)
            .getObjectRequest(g -> g.bucket(location.bucket()).key(location.key())))
        .url().toString();
  }

  @Override
  public void close() {
    presigner.close();
  }
}
