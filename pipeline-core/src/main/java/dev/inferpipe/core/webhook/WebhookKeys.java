package dev.inferpipe.core.webhook;

import dev.inferpipe.core.job.JobCodec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The webhook settings of every API key, read from the API's keys file (the notifier mounts the
 * same Secret). Only {@code id} and {@code webhook} are read here; producer-api checks the rest.
 */
public final class WebhookKeys {
  record Entry(String id, KeyWebhook webhook) {}

  record File(List<Entry> keys) {}

  private final Map<String, KeyWebhook> byKey;

  private WebhookKeys(Map<String, KeyWebhook> byKey) {
    this.byKey = Map.copyOf(byKey);
  }

  public static WebhookKeys none() {
    return new WebhookKeys(Map.of());
  }

  public static WebhookKeys load(Path file, JobCodec codec) {
    try {
      File parsed = codec.decode(Files.readAllBytes(file), File.class);
      Map<String, KeyWebhook> byKey = new HashMap<>();
      if (parsed != null && parsed.keys() != null) {
        for (Entry entry : parsed.keys()) {
          if (entry != null && entry.id() != null && entry.webhook() != null) {
            String problem = entry.webhook().problem();
            if (problem != null) {
              throw new IllegalStateException("API key '" + entry.id() + "' in " + file + ": "
                  + problem);
            }
            byKey.put(entry.id(), entry.webhook());
          }
        }
      }
      return new WebhookKeys(byKey);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read API keys from " + file, e);
    }
  }

  public Optional<KeyWebhook> get(String keyId) {
    return Optional.ofNullable(keyId == null ? null : byKey.get(keyId));
  }
}
