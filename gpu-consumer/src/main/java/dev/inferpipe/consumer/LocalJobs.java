package dev.inferpipe.consumer;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What this process knows about jobs before the status topic does: the jobs it is running, and
 * the recent jobs whose output it produced (their SUCCEEDED may not be on the topic yet). A
 * second record of either is a duplicate.
 */
final class LocalJobs {
  static final int PRODUCED_OUTPUTS_REMEMBERED = 10_000;
  private final Set<String> running = ConcurrentHashMap.newKeySet();
  private final Set<String> produced = Collections.newSetFromMap(
      new LinkedHashMap<>(256, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
          return size() > PRODUCED_OUTPUTS_REMEMBERED;
        }
      });

  void started(String jobId) {
    running.add(jobId);
  }

  void ended(String jobId) {
    running.remove(jobId);
  }

  boolean isRunning(String jobId) {
    return running.contains(jobId);
  }

  void produced(String jobId) {
    synchronized (produced) {
      produced.add(jobId);
    }
  }

  boolean hasProduced(String jobId) {
    synchronized (produced) {
      return produced.contains(jobId);
    }
  }
}
