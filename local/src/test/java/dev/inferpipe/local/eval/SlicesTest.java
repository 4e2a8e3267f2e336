package dev.inferpipe.local.eval;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SlicesTest {
  @Test
  void eachSampleCountsOnceInEveryNamedSliceInNameOrder() {
    Slices slices = new Slices();
    slices.add(true, "format=png", "background=dark");
    slices.add(false, "format=jpeg", "background=dark");
    slices.add(false, "format=png", "background=gradient");

    assertThat(slices.list()).containsExactly(
        new Txt2ImgEvaluation.Slice("background=dark", 2, 1),
        new Txt2ImgEvaluation.Slice("background=gradient", 1, 0),
        new Txt2ImgEvaluation.Slice("format=jpeg", 1, 0),
        new Txt2ImgEvaluation.Slice("format=png", 2, 1));
    assertThat(slices.list().get(0).fraction()).isEqualTo(0.5);
  }
}
