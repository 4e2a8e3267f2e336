package dev.inferpipe.consumer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The process's peak resident memory (Linux {@code VmHWM}): it includes PyTorch's native
 * allocations, which the JVM heap figures do not.
 */
final class PeakMemory {
  private static final Path STATUS = Path.of("/proc/self/status");

  private PeakMemory() {}

  static long peakRssMegabytes() {
    return peakRssBytes() / (1024 * 1024);
  }

  static long peakRssBytes() {
    try {
      for (String line : Files.readAllLines(STATUS)) {
        if (line.startsWith("VmHWM:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
      }
    } catch (IOException | RuntimeException e) {
      // Not Linux, or /proc unavailable: report nothing rather than a wrong figure.
    }
    return -1;
  }
}
