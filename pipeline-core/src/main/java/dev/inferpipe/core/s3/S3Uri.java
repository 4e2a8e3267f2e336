package dev.inferpipe.core.s3;

import java.util.Optional;

/** {@code s3://bucket/key}, parsed. */
public record S3Uri(String bucket, String key) {

  public static Optional<S3Uri> parse(String uri) {
    if (uri == null || !uri.startsWith("s3://")) {
      return Optional.empty();
    }
    String rest = uri.substring("s3://".length());
    int slash = rest.indexOf('/');
    if (slash <= 0 || slash == rest.length() - 1) {
      return Optional.empty();
    }
    return Optional.of(new S3Uri(rest.substring(0, slash), rest.substring(slash + 1)));
  }

  @Override
  public String toString() {
    return "s3://" + bucket + "/" + key;
  }
}
