package dev.inferpipe.consumer.batch;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;

/**
 * One model's batch on the scheduler's thread: its rows and the jobs waiting to join, advanced
 * one step of every row per {@link #tick}. Only the scheduler's thread touches it.
 *
 * @param <R> a row: one job's state in the batch
 */
abstract class ModelBatch<R> {
  final String modelId;
  final BatchCalls calls;
  final int maxBatchSize;
  final Deque<BatchJob> waiting = new ArrayDeque<>();
  final List<R> rows = new ArrayList<>();

  ModelBatch(String modelId, BatchCalls calls, int maxBatchSize) {
    this.modelId = modelId;
    this.calls = calls;
    this.maxBatchSize = maxBatchSize;
  }

  /** The job a row runs. */
  abstract BatchJob jobOf(R row);

  /** Starts the joiners' rows (one model call for all of them where the model allows). */
  abstract void join(List<BatchJob> joiners);

  /** One step over every row; rows that finish or fail leave with their outcome. */
  abstract void advance();

  /** A row leaves: its memory is freed, its spans ended, its outcome delivered. */
  abstract void end(R row, BatchOutcome outcome);

  /**
   * Drops leavers (cancelled, abandoned), lets waiting jobs join, and advances the rows.
   *
   * @param running false once the scheduler stops: waiting jobs are abandoned, rows finish
   */
  final void tick(boolean running) {
    for (Iterator<R> it = rows.iterator(); it.hasNext(); ) {
      R row = it.next();
      BatchOutcome stop = stopped(jobOf(row));
      if (stop != null) {
        it.remove();
        end(row, stop);
      }
    }
    if (!running) {
      abandonWaiting();
    }
    List<BatchJob> joiners = joiners(rows.size());
    if (!joiners.isEmpty()) {
      join(joiners);
    }
    if (!rows.isEmpty()) {
      advance();
    }
  }

  final boolean hasRows() {
    return !rows.isEmpty();
  }

  /** Ends every row and waiting job with {@link BatchOutcome.Abandoned}. */
  final void abandonAll() {
    for (R row : List.copyOf(rows)) {
      end(row, new BatchOutcome.Abandoned());
    }
    rows.clear();
    abandonWaiting();
  }

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
