package dev.inferpipe.core.job;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class JobDefaultsTest {
  private final JobDefaults defaults = new JobDefaults(() -> -7L);

  @Test
  void fillsEveryOptionalTxt2ImgFieldFromTheModel() {
    Job job = new Job(null, Task.TXT2IMG, "tiny-shapes-diffusion",
        new Txt2ImgInput("a red circle", null, null, null, null, null, null, null), null);
    Job filled = defaults.apply(job, TestJobs.DIFFUSION);
    assertThat(JobId.isValid(filled.jobId())).isTrue();
    assertThat(filled.input()).isEqualTo(new Txt2ImgInput(
        "a red circle", "", 25, 3.0, 0xFFFF_FFFFL - 6, "ddim", 32, 32));
  }

  @Test
  void keepsWhatTheClientChose() {
    Txt2ImgInput chosen = new Txt2ImgInput("p", "n", 7, 1.5, 9L, "euler", 32, 32);
    Job job = new Job("mine", Task.TXT2IMG, "tiny-shapes-diffusion", chosen, 5);
    assertThat(defaults.apply(job, TestJobs.DIFFUSION)).isEqualTo(job);
  }

  @Test
  void vqaTokenBudgetDefaultsToTheModelLimit() {
    Job job = new Job("v", Task.VQA, "tiny-shapes-vqa", new VqaInput("abc", "q", null), null);
    assertThat(((VqaInput) defaults.apply(job, TestJobs.VQA).input()).maxNewTokens()).isEqualTo(4);
  }
}
