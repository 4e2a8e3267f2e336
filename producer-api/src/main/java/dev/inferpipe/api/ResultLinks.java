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

  /** Only objects in the configured output bucket are ever signed. */
  boolean canSign(S3Uri location) {
    return location.bucket().equals(bucket);
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
