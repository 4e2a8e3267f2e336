package dev.inferpipe.api;

import dev.inferpipe.core.job.JobCodec;
import dev.inferpipe.core.job.Sha256;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The API keys of a deployment, read from a JSON file (a mounted Kubernetes Secret in the chart):
 * {@code {"keys": [{"id", "tenant", "sha256", "disabled", "rate_per_second", "burst",
 * "max_queued", "webhook": {"secret", "allowed_hosts", "default_url"}}]}}. Keys are compared by hash in constant time; the file never holds a key.
 */
final class ApiKeys {
  record File(List<ApiKey> keys) {}

  /** The result of checking a presented key. */
  sealed interface Check permits Missing, Unknown, Disabled, Valid {}

  record Missing() implements Check {}

  record Unknown() implements Check {}

  record Disabled(ApiKey key) implements Check {}

  record Valid(ApiKey key) implements Check {}

  private final List<ApiKey> keys;

  private ApiKeys(List<ApiKey> keys) {
    this.keys = List.copyOf(keys);
  }

  static ApiKeys load(Path file, JobCodec codec) {
    try {
      File parsed = codec.decode(Files.readAllBytes(file), File.class);
      if (parsed == null || parsed.keys() == null) {
        throw new IllegalStateException(file + " needs a \"keys\" array");
      }
      // Checked here so a bad entry stops start-up instead of failing its requests later.
      Set<String> ids = new HashSet<>();
      for (int i = 0; i < parsed.keys().size(); i++) {
        ApiKey key = parsed.keys().get(i);
        if (key == null || isBlank(key.id())) {
          throw new IllegalStateException("API key #" + (i + 1) + " in " + file
              + " needs id: a non-blank string");
        }
        if (!ids.add(key.id())) {
          throw new IllegalStateException("API key '" + key.id() + "' in " + file
              + " appears more than once: ids must be unique");
        }
        if (isBlank(key.tenant())) {
          throw new IllegalStateException("API key '" + key.id() + "' in " + file
              + " needs tenant: a non-blank string");
        }
        if (key.sha256() == null || !key.sha256().matches("[0-9a-f]{64}")) {
          throw new IllegalStateException("API key '" + key.id() + "' in " + file
              + " needs sha256: 64 lowercase hex characters");
        }
        if (key.webhook() != null && key.webhook().problem() != null) {
          throw new IllegalStateException("API key '" + key.id() + "' in " + file + ": "
              + key.webhook().problem());
        }
      }
      return new ApiKeys(parsed.keys());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read API keys from " + file, e);
    }
  }

  private static boolean isBlank(String value) {
    return value == null || value.isBlank();
  }

  Check check(Optional<String> presented) {
    if (presented.isEmpty() || presented.get().isBlank()) {
      return new Missing();
    }
    byte[] hash = HexFormat.of().parseHex(Sha256.hex(presented.get()));
    ApiKey match = null;
    for (ApiKey key : keys) {
      // Every key is compared, so timing does not tell which prefix matched.
      if (MessageDigest.isEqual(hash, HexFormat.of().parseHex(key.sha256()))) {
        match = key;
      }
    }
    if (match == null) {
      return new Unknown();
    }
    return match.disabled() ? new Disabled(match) : new Valid(match);
  }

  static String hash(String key) {
    return Sha256.hex(key.getBytes(StandardCharsets.UTF_8));
  }
}
