package dev.inferpipe.core.s3;

import dev.inferpipe.core.config.Env;
import dev.inferpipe.core.config.S3Settings;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;

/**
 * Builds S3 clients for AWS S3 or any S3-compatible endpoint. Credentials: the standard
 * {@code AWS_ACCESS_KEY_ID}/{@code AWS_SECRET_ACCESS_KEY} from the service's env when both are
 * set (so the in-process local stack can hand them over), else the AWS default provider chain
 * (environment, profile, web identity / IRSA, instance role).
 */
public final class S3Clients {
  private final S3Settings settings;
  private final AwsCredentialsProvider credentials;

  public S3Clients(S3Settings settings, Env env) {
    this.settings = settings;
    this.credentials = credentialsFrom(env);
  }

  static AwsCredentialsProvider credentialsFrom(Env env) {
    var accessKey = env.get("AWS_ACCESS_KEY_ID");
    var secretKey = env.get("AWS_SECRET_ACCESS_KEY");
    if (accessKey.isPresent() && secretKey.isPresent()) {
      return StaticCredentialsProvider.create(
          AwsBasicCredentials.create(accessKey.get(), secretKey.get()));
    }
    return DefaultCredentialsProvider.builder().build();
  }

  public S3Settings settings() {
    return settings;
  }

  public S3Client client() {
    var builder = S3Client.builder()
        .region(Region.of(settings.region()))
        .credentialsProvider(credentials)
        .forcePathStyle(settings.pathStyle());
    settings.endpoint().ifPresent(builder::endpointOverride);
    return builder.build();
  }

  public S3Presigner presigner() {
    var builder = S3Presigner.builder()
        .region(Region.of(settings.region()))
        .credentialsProvider(credentials)
        .serviceConfiguration(S3Configuration.builder()
            .pathStyleAccessEnabled(settings.pathStyle()).build());
    settings.endpoint().ifPresent(builder::endpointOverride);
    return builder.build();
  }
}
