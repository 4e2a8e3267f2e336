package dev.inferpipe.core.job;

import java.util.UUID;
import java.util.regex.Pattern;

/** Job ids become part of S3 keys and URLs, so only a small safe alphabet is accepted. */
public final class JobId {
  public static final Pattern PATTERN = Pattern.compile("[A-Za-z0-9_-]{1,64}");

  private JobId() {}

  public static boolean isValid(String candidate) {
    return candidate != null && PATTERN.matcher(candidate).matches();
  }

  public static String generate() {
    return UUID.randomUUID().toString();
  }
}
