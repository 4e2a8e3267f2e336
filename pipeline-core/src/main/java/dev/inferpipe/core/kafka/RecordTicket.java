package dev.inferpipe.core.kafka;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.apache.kafka.common.TopicPartition;

/**
 * A record in hand of an {@link AsyncRecordLoop}: the handler calls {@link #done} once everything
 * the record produced is acknowledged, from any thread. When its partition is revoked, the ticket
 * is revoked first: {@link #onRevoke} hooks run (e.g. dropping the job from a batch), and a
 * publication already under way ({@link #beginPublish}..{@link #endPublish}) is waited for, so no
 * output is published by a consumer that no longer owns the partition.
 */
public final class RecordTicket {
  private final TopicPartition partition;
  private final long offset;
  private final Consumer<RecordTicket> onDone;
  private final List<Runnable> revokeHooks = new ArrayList<>();
  private boolean revoked;
  private boolean publishing;
  private boolean finished;
  private boolean released;

  RecordTicket(TopicPartition partition, long offset, Consumer<RecordTicket> onDone) {
    this.partition = partition;
    this.offset = offset;
    this.onDone = onDone;
  }

  public TopicPartition partition() {
    return partition;
  }

  public long offset() {
    return offset;
  }

  /** The record's work is acknowledged: its offset may be committed. Idempotent. */
  public void done() {
    synchronized (this) {
      if (finished) {
        return;
      }
      finished = true;
    }
    onDone.accept(this);
  }

  /**
   * The record was given up without being done (its job abandoned): the loop stops waiting for
   * it, and its offset is not committed, so the partition's next owner handles it again.
   */
  public void release() {
    synchronized (this) {
      if (finished) {
        return;
      }
      finished = true;
      released = true;
    }
    onDone.accept(this);
  }

  synchronized boolean isReleased() {
    return released;
  }

  /** Runs {@code hook} when the partition is revoked (at once if it already was). */
  public void onRevoke(Runnable hook) {
    boolean now;
    synchronized (this) {
      now = revoked;
      if (!now) {
        revokeHooks.add(hook);
      }
    }
    if (now) {
      hook.run();
    }
  }

  public synchronized boolean isRevoked() {
    return revoked;
  }

  /** Starts publishing the record's output; false once revoked (publish nothing then). */
  public synchronized boolean beginPublish() {
    if (revoked) {
      return false;
    }
    publishing = true;
    return true;
  }

  public synchronized void endPublish() {
    publishing = false;
    notifyAll();
  }

  /** Revokes the ticket and waits up to {@code timeout} for a publication under way. */
  void revoke(Duration timeout) throws InterruptedException {
    List<Runnable> hooks;
    synchronized (this) {
      revoked = true;
      hooks = List.copyOf(revokeHooks);
      revokeHooks.clear();
    }
    hooks.forEach(Runnable::run);
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (this) {
      while (publishing) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return;
        }
        wait(Math.max(1, left / 1_000_000));
      }
    }
  }
}
