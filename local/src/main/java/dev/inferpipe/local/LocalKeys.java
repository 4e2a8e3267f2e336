package dev.inferpipe.local;

import dev.inferpipe.core.config.DeploymentKeys;
import dev.inferpipe.core.webhook.WebhookSettings;
import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;

/**
 * The local stack's deployment keys and webhook secret, made once and kept in its data directory
 * (owner-only), so a restarted stack still verifies the records it signed before, its prompt
 * hashes stay stable and receivers keep their secret. Keys given in the environment win.
 */
final class LocalKeys {
  /** The variables this file provides. */
  static final java.util.List<String> NAMES = java.util.List.of(DeploymentKeys.SIGNING_KEY_ENV,
      DeploymentKeys.HASH_KEY_ENV, WebhookSettings.SECRET_ENV);

  private LocalKeys() {}

  static Map<String, String> loadOrCreate(Path file) {
    try {
      Properties keys = new Properties();
      if (Files.exists(file)) {
        try (Reader in = Files.newBufferedReader(file)) {
          keys.load(in);
        }
      }
      boolean missingDeploymentKeys = keys.getProperty(DeploymentKeys.SIGNING_KEY_ENV) == null
          || keys.getProperty(DeploymentKeys.HASH_KEY_ENV) == null;
      if (missingDeploymentKeys || keys.getProperty(WebhookSettings.SECRET_ENV) == null) {
        if (missingDeploymentKeys) {
          keys.putAll(DeploymentKeys.randomEnv());
        }
        // Hex, so it can be pasted into a receiver's config as it is.
        byte[] secret = new byte[32];
        new java.security.SecureRandom().nextBytes(secret);
        keys.putIfAbsent(WebhookSettings.SECRET_ENV, java.util.HexFormat.of().formatHex(secret));
        Files.createDirectories(file.getParent());
        Files.deleteIfExists(file);
        Files.createFile(file);
        try {
          Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException e) {
          // Not a POSIX file system: the file keeps the directory's permissions.
        }
        try (Writer out = Files.newBufferedWriter(file)) {
          keys.store(out, "inferpipe local stack keys (generated; never use in production)");
        }
      }
      Map<String, String> env = new HashMap<>();
      env.put(DeploymentKeys.SIGNING_KEY_ENV, keys.getProperty(DeploymentKeys.SIGNING_KEY_ENV));
      env.put(DeploymentKeys.HASH_KEY_ENV, keys.getProperty(DeploymentKeys.HASH_KEY_ENV));
      env.put(WebhookSettings.SECRET_ENV, keys.getProperty(WebhookSettings.SECRET_ENV));
      return env;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read or write the local keys in " + file, e);
    }
  }
}
