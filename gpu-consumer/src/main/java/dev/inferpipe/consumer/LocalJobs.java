package dev.inferpipe.consumer;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What this process knows about jobs before the status topic does: the jobs it is running, and
 * the recent jobs whose output it produced (their SUCCEEDED may not be on the topic yet). A
 * second record of either is a duplicate. A run is keyed by its record's token (the ticket), so
 * that a run given up on (its partition revoked) no longer counts, and its late end does not
 * erase the record's next run.
 */
final class LocalJobs {
  static final int PRODUCED_OUTPUTS_REMEMBERED = 10_000;
  private final Map<String, Object> running = new ConcurrentHashMap<>();
  private final Set<String> produced = Collections.newSetFromMap(
      new LinkedHashMap<>(256, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
          return size() > PRODUCED_OUTPUTS_REMEMBERED;
        }
      });

  /** The job runs here for the record {@code token} stands for. */
  void started(String jobId, Object token) {
    running.put(jobId, token);
  }

  /** That run ended or was given up; a later run of the job (another token) stays. */
  void ended(String jobId, Object token) {
    running.remove(jobId, token);
  }

  boolean isRunning(String jobId) {
    return running.containsKey(jobId);
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
