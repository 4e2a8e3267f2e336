package dev.inferpipe.core.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inferpipe.core.job.JobState;
import dev.inferpipe.core.job.JobStatus;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** The one transition rule every status table applies: a job's first terminal status is final. */
class StatusTableRulesTest {
  private static JobStatus of(JobState state) {
    Instant t = Instant.parse("2026-12-01T00:00:00Z");
    return new JobStatus("job-1", state, null, null, null, null, t, null, null, null, null, null,
        null, null, t, null, null);
  }

  @Test
  void nothingReplacesATerminalStatus() {
    for (JobState terminal : new JobState[] {JobState.SUCCEEDED, JobState.FAILED,
        JobState.EXPIRED, JobState.CANCELLED}) {
      for (JobState later : JobState.values()) {
        assertThat(StatusTable.accepts(of(terminal), of(later)))
            .as("%s after %s", later, terminal).isFalse();
      }
    }
  }

  @Test
  void aCancelAfterTheSinkClaimedTheOutputIsVoid() {
    assertThat(StatusTable.accepts(of(JobState.STORING), of(JobState.CANCELLED))).isFalse();
    assertThat(StatusTable.accepts(of(JobState.STORING), of(JobState.SUCCEEDED))).isTrue();
    assertThat(StatusTable.accepts(of(JobState.STORING), of(JobState.FAILED))).isTrue();
    assertThat(StatusTable.accepts(of(JobState.RUNNING), of(JobState.CANCELLED))).isTrue();
    assertThat(StatusTable.accepts(of(JobState.QUEUED), of(JobState.CANCELLED))).isTrue();
  }

  @Test
  void noEventHandsAnUnfinishedJobToAnotherOwner() {
    JobStatus queued = of(JobState.QUEUED);
    JobStatus otherTenant = new JobStatus("job-1", JobState.RUNNING, null, null, null, null, null,
        null, null, null, null, null, null, null, null, "globex", null);
    JobStatus otherRequest = new JobStatus("job-1", JobState.CANCELLED, null, null, "f00d", null,
        null, null, null, null, null, null, null, null, null, null, null);
    assertThat(StatusTable.accepts(queued, otherTenant)).isFalse();
    assertThat(StatusTable.accepts(queued, otherRequest)).isFalse();
  }

  @Test
  void anOlderStageNeverComesBack() {
    assertThat(StatusTable.accepts(of(JobState.RUNNING), of(JobState.QUEUED))).isFalse();
    assertThat(StatusTable.accepts(of(JobState.STORING), of(JobState.RUNNING))).isFalse();
    assertThat(StatusTable.accepts(of(JobState.RUNNING), of(JobState.RUNNING))).isTrue();
    assertThat(StatusTable.accepts(null, of(JobState.RUNNING))).isTrue();
  }
}
