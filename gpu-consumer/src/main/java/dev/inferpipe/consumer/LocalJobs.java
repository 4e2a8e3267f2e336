package dev.inferpipe.consumer;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What this process knows about jobs before the status topic does: the jobs it is running, and
 * the recent jobs whose output it produced (their SUCCEEDED may not be on the topic yet), each
 * with its owner. A second record of either is a duplicate when it has the same owner, and a
 * conflict when it does not. A run is keyed by its record's token (the ticket), so that a run
 * given up on (its partition revoked) no longer counts, and its late end does not erase the
 * record's next run.
 */
final class LocalJobs {
  static final int PRODUCED_OUTPUTS_REMEMBERED = 10_000;

  /** Who a job belongs to: the hash of its request and its tenant. */
  record Owner(String requestSha256, String tenant) {}

  private record Run(Object token, Owner owner) {}

  private final Map<String, Run> running = new ConcurrentHashMap<>();
  private final Map<String, Owner> produced = new LinkedHashMap<>(256, 0.75f, false) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Owner> eldest) {
      return size() > PRODUCED_OUTPUTS_REMEMBERED;
    }
  };

  /** The job runs here for the record {@code token} stands for. */
  void started(String jobId, Object token, Owner owner) {
    running.put(jobId, new Run(token, owner));
  }

  /** That run ended or was given up; a later run of the job (another token) stays. */
  void ended(String jobId, Object token) {
    running.computeIfPresent(jobId, (id, run) -> run.token() == token ? null : run);
  }

  boolean isRunning(String jobId) {
    return running.containsKey(jobId);
  }

  void produced(String jobId, Owner owner) {
    synchronized (produced) {
      produced.put(jobId, owner);
    }
  }

  boolean hasProduced(String jobId) {
    synchronized (produced) {
      return produced.containsKey(jobId);
    }
  }

  /**
   * The owner of a job running here or produced here, if any: the status topic may not show
   * the job yet, so a conflicting record is caught here too.
   */
  Optional<Owner> owner(String jobId) {
    Run run = running.get(jobId);
    if (run != null) {
      return Optional.of(run.owner());
    }
    synchronized (produced) {
      return Optional.ofNullable(produced.get(jobId));
    }
  }
}
