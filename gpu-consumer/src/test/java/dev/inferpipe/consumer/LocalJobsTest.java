package dev.inferpipe.consumer;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class LocalJobsTest {
  private static final LocalJobs.Owner ALICE = new LocalJobs.Owner("a".repeat(64), "alice");
  private static final LocalJobs.Owner BOB = new LocalJobs.Owner("a".repeat(64), "bob");

  @Test
  void aRunningJobHasItsOwnerBeforeTheStatusTopicKnowsIt() {
    LocalJobs local = new LocalJobs();
    Object ticket = new Object();
    local.started("j1", ticket, ALICE);

    assertThat(local.isRunning("j1")).isTrue();
    assertThat(local.owner("j1")).contains(ALICE);
    assertThat(local.owner("j2")).isEmpty();
  }

  @Test
  void aGivenUpRunsLateEndLeavesTheNextRun() {
    LocalJobs local = new LocalJobs();
    Object first = new Object();
    Object second = new Object();
    local.started("j1", first, ALICE);
    local.started("j1", second, ALICE);

    local.ended("j1", first);
    assertThat(local.isRunning("j1")).isTrue();
    local.ended("j1", second);
    assertThat(local.isRunning("j1")).isFalse();
    assertThat(local.owner("j1")).isEmpty();
  }

  @Test
  void aProducedJobKeepsItsOwnerAfterItsRunEnds() {
    LocalJobs local = new LocalJobs();
    Object ticket = new Object();
    local.started("j1", ticket, BOB);
    local.produced("j1", BOB);
    local.ended("j1", ticket);

    assertThat(local.hasProduced("j1")).isTrue();
    assertThat(local.owner("j1")).contains(BOB);
  }

  @Test
  void onlyTheMostRecentProducedJobsAreRemembered() {
    LocalJobs local = new LocalJobs();
    for (int i = 0; i <= LocalJobs.PRODUCED_OUTPUTS_REMEMBERED; i++) {
      local.produced("j" + i, ALICE);
    }
    assertThat(local.hasProduced("j0")).isFalse();
    assertThat(local.owner("j" + LocalJobs.PRODUCED_OUTPUTS_REMEMBERED)).contains(ALICE);
  }
}
