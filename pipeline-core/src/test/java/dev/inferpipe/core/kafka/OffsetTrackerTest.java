package dev.inferpipe.core.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class OffsetTrackerTest {
  private static final TopicPartition P0 = new TopicPartition("t", 0);
  private static final TopicPartition P1 = new TopicPartition("t", 1);

  @Test
  void commitsOnlyUpToTheLowestRecordNotDone() {
    OffsetTracker tracker = new OffsetTracker();
    for (long o = 10; o < 15; o++) {
      tracker.started(P0, o);
    }
    tracker.done(P0, 12);
    tracker.done(P0, 14);
    assertThat(tracker.commitPoint(P0)).isEqualTo(10);
    tracker.done(P0, 10);
    assertThat(tracker.committable()).isEqualTo(Map.of(P0, new OffsetAndMetadata(11)));
    tracker.done(P0, 11);
    assertThat(tracker.commitPoint(P0)).isEqualTo(13);
    tracker.done(P0, 13);
    assertThat(tracker.commitPoint(P0)).isEqualTo(15);
    assertThat(tracker.inFlight()).isZero();
  }

  @Test
  void partitionsAreTrackedApartAndACommitIsNotRepeated() {
    OffsetTracker tracker = new OffsetTracker();
    tracker.started(P0, 0);
    tracker.started(P1, 7);
    tracker.done(P1, 7);
    Map<TopicPartition, OffsetAndMetadata> first = tracker.committable();
    assertThat(first).isEqualTo(Map.of(P0, new OffsetAndMetadata(0), P1, new OffsetAndMetadata(8)));
    tracker.committed(first);
    assertThat(tracker.committable()).isEmpty();
    tracker.done(P0, 0);
    assertThat(tracker.committable()).isEqualTo(Map.of(P0, new OffsetAndMetadata(1)));
  }

  @Test
  void aForgottenRecordIsWhereThePartitionResumesAndRevokedPartitionsAreDropped() {
    OffsetTracker tracker = new OffsetTracker();
    tracker.started(P0, 3);
    tracker.started(P0, 4);
    tracker.done(P0, 3);
    tracker.forget(P0, 4);
    assertThat(tracker.commitPoint(P0)).isEqualTo(4);
    assertThat(tracker.inFlight()).isZero();
    tracker.started(P1, 1);
    tracker.remove(List.of(P1));
    tracker.done(P1, 1); // a late completion of a revoked partition's record
    assertThat(tracker.committable()).containsOnlyKeys(P0);
    assertThat(tracker.inFlight()).isZero();
  }
}
