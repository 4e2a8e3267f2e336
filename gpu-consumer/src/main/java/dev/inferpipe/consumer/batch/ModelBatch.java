package dev.inferpipe.consumer.batch;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * One model's batch on the scheduler's thread: its rows and the jobs waiting to join, advanced
 * one step of every row per {@link #tick}. Only the scheduler's thread touches it.
 */
abstract class ModelBatch {
  final String modelId;
  final BatchCalls calls;
  final int maxBatchSize;
  final Deque<BatchJob> waiting = new ArrayDeque<>();

  ModelBatch(String modelId, BatchCalls calls, int maxBatchSize) {
    this.modelId = modelId;
    this.calls = calls;
    this.maxBatchSize = maxBatchSize;
  }

  /**
   * Drops leavers, lets waiting jobs join, runs one step over the rows, and delivers what ended.
   *
   * @param running false once the scheduler stops: waiting jobs are abandoned, rows finish
   */
  abstract void tick(boolean running);

  abstract boolean hasRows();

  /** Ends every row and waiting job with {@link BatchOutcome.Abandoned}. */
  abstract void abandonAll();

  void add(BatchJob job) {
    waiting.add(job);
  }

  boolean isIdle() {
    return !hasRows() && waiting.isEmpty();
  }

  /** Why a job must leave (abandoned, cancelled), or null. */
  static BatchOutcome stopped(BatchJob job) {
    if (job.isAbandoned()) {
      return new BatchOutcome.Abandoned();
    }
    if (job.isCancelled()) {
      return new BatchOutcome.Cancelled();
    }
    return null;
  }

  void abandonWaiting() {
    while (!waiting.isEmpty()) {
      calls.waitingJobs.decrementAndGet();
      waiting.poll().finish(new BatchOutcome.Abandoned());
    }
  }

  /**
   * Takes waiting jobs, in arrival order, until the batch holds {@code maxBatchSize} rows; one
   * cancelled or abandoned meanwhile gets its outcome instead of a row.
   */
  List<BatchJob> joiners(int rows) {
    List<BatchJob> joiners = new ArrayList<>();
    while (rows + joiners.size() < maxBatchSize && !waiting.isEmpty()) {
      BatchJob job = waiting.poll();
      calls.waitingJobs.decrementAndGet();
      BatchOutcome stop = stopped(job);
      if (stop != null) {
        job.finish(stop);
      } else {
        joiners.add(job);
      }
    }
    return joiners;
  }
}
