package dev.inferpipe.core.config;

import java.net.URI;
import java.time.Duration;
import java.util.Optional;

/**
 * Where outputs live. Credentials come from the AWS default provider chain (env, profile, IRSA),
 * never from here; {@code endpoint} and {@code pathStyle} serve S3-compatible stores.
 */
public record S3Settings(
    String bucket,
    String region,
    Optional<URI> endpoint,
    boolean pathStyle,
    Duration presignTtl) {

  public static final String BUCKET_ENV = "INFERPIPE_S3_BUCKET";
  public static final String REGION_ENV = "INFERPIPE_S3_REGION";
  public static final String ENDPOINT_ENV = "INFERPIPE_S3_ENDPOINT";
  public static final String PATH_STYLE_ENV = "INFERPIPE_S3_PATH_STYLE";
  public static final String PRESIGN_TTL_ENV = "INFERPIPE_S3_PRESIGN_TTL";

  public static S3Settings from(Env env) {
    return new S3Settings(
        env.string(BUCKET_ENV, "inferpipe-outputs"),
        env.string(REGION_ENV, "us-east-1"),
        env.get(ENDPOINT_ENV).map(URI::create),
        env.bool(PATH_STYLE_ENV, false),
        env.duration(PRESIGN_TTL_ENV, Duration.ofMinutes(15)));
  }

  /** {@code s3://bucket/outputs/<job_id>/}: every object a job produces lives under it. */
  public String outputPrefix(String jobId) {
    return "s3://" + bucket + "/outputs/" + jobId + "/";
  }
}
