package dev.inferpipe.sink;

import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

/**
 * Puts started side by side by {@link ObjectWriter#start}. The sink either awaits them (the claim
 * won) or abandons them (a cancel came first): then every object that was written is deleted, so
 * a cancelled job leaves nothing in the bucket.
 */
final class PendingPuts {
  private final ObjectWriter writer;
  private final List<ObjectWriter.Put> puts;
  private final List<Future<Integer>> futures;

  PendingPuts(ObjectWriter writer, List<ObjectWriter.Put> puts, List<Future<Integer>> futures) {
    this.writer = writer;
    this.puts = List.copyOf(puts);
    this.futures = List.copyOf(futures);
  }

  /**
   * Waits for every put and returns the sum of their retried attempts.
   *
   * @throws StorageFailedException when any object could not be written, after all finished;
   *     its retry count is the sum over all objects
   */
  int await() throws InterruptedException {
    int retries = 0;
    StorageFailedException failed = null;
    for (Future<Integer> future : futures) {
      try {
        retries += future.get();
      } catch (ExecutionException e) {
        if (e.getCause() instanceof StorageFailedException f) {
          retries += f.retries();
          failed = failed == null ? f : failed;
        } else {
          throw new IllegalStateException("writing an object failed", e.getCause());
        }
      }
    }
    if (failed != null) {
      throw new StorageFailedException(failed.getMessage(), retries, failed.getCause());
    }
    return retries;
  }

  /**
   * Waits for every put to end (they are bounded by the writer's retries; a put is not interrupted,
   * since one still in flight could land after the delete), then deletes all of the objects.
   * A delete that fails is logged with its key ({@code output.orphaned}).
   */
  void abandon() throws InterruptedException {
    for (Future<Integer> future : futures) {
      try {
        future.get();
      } catch (ExecutionException e) {
        // not written, or partly retried: deleted below all the same
      }
    }
    for (ObjectWriter.Put put : puts) {
      writer.deleteOrLog(put.bucket(), put.key());
    }
  }
}
