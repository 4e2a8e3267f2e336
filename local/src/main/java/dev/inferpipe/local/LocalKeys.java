package dev.inferpipe.local;

import dev.inferpipe.core.config.DeploymentKeys;
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
 * The local stack's deployment keys, made once and kept in its data directory (owner-only), so a
 * restarted stack still verifies the records it signed before and its prompt hashes stay stable.
 * Keys given in the environment win.
 */
final class LocalKeys {
  private LocalKeys() {}

  static Map<String, String> loadOrCreate(Path file) {
    try {
      Properties keys = new Properties();
      if (Files.exists(file)) {
        try (Reader in = Files.newBufferedReader(file)) {
          keys.load(in);
        }
      }
      if (keys.getProperty(DeploymentKeys.SIGNING_KEY_ENV) == null
          || keys.getProperty(DeploymentKeys.HASH_KEY_ENV) == null) {
        keys.putAll(DeploymentKeys.randomEnv());
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
      return env;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read or write the local keys in " + file, e);
    }
  }
}
