package dev.inferpipe.core.kafka;

import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeSet;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * Which offsets of each partition may be committed when records finish out of order: the
 * highest offset below which every record taken is done (confluent parallel-consumer's rule).
 * A record taken but not done holds the commit point at its offset, so a crash redelivers it and
 * everything after it (at-least-once); records done above it are handled again, idempotently.
 * Not thread-safe: the poll loop's thread owns it.
 */
public final class OffsetTracker {
  private final Map<TopicPartition, TreeSet<Long>> pending = new HashMap<>();
  /** One past the highest offset taken, per partition. */
  private final Map<TopicPartition, Long> taken = new HashMap<>();
  private final Map<TopicPartition, Long> committed = new HashMap<>();
  private int inFlight;

  /** A record was taken for handling. */
  public void started(TopicPartition partition, long offset) {
    if (pending.computeIfAbsent(partition, p -> new TreeSet<>()).add(offset)) {
      inFlight++;
    }
    taken.merge(partition, offset + 1, Math::max);
  }

  /** A record's work is acknowledged; unknown offsets (a revoked partition's) are ignored. */
  public void done(TopicPartition partition, long offset) {
    TreeSet<Long> open = pending.get(partition);
    if (open != null && open.remove(offset)) {
      inFlight--;
    }
  }

  /** Forgets a record taken but to be read again (the loop seeks back to it). */
  public void forget(TopicPartition partition, long offset) {
    done(partition, offset);
    taken.put(partition, Math.min(taken.getOrDefault(partition, offset), offset));
  }

  /** Records taken and not done, over all partitions. */
  public int inFlight() {
    return inFlight;
  }

  /** The commit point of every partition where it moved past the last commit. */
  public Map<TopicPartition, OffsetAndMetadata> committable() {
    Map<TopicPartition, OffsetAndMetadata> out = new HashMap<>();
    for (Map.Entry<TopicPartition, Long> e : taken.entrySet()) {
      long point = commitPoint(e.getKey());
      Long last = committed.get(e.getKey());
      if (last == null || point > last) {
        out.put(e.getKey(), new OffsetAndMetadata(point));
      }
    }
    return out;
  }

  /** The highest offset below which every record taken from {@code partition} is done. */
  public long commitPoint(TopicPartition partition) {
    TreeSet<Long> open = pending.get(partition);
    if (open != null && !open.isEmpty()) {
      return open.first();
    }
    return taken.getOrDefault(partition, 0L);
  }

  /** The broker accepted these commits. */
  public void committed(Map<TopicPartition, OffsetAndMetadata> offsets) {
    offsets.forEach((p, o) -> committed.merge(p, o.offset(), Math::max));
  }

  /** Drops partitions this consumer no longer owns; their records' late completions are ignored. */
  public void remove(Collection<TopicPartition> partitions) {
    for (TopicPartition p : partitions) {
      TreeSet<Long> open = pending.remove(p);
      if (open != null) {
        inFlight -= open.size();
      }
      taken.remove(p);
      committed.remove(p);
    }
  }
}
