package dev.inferpipe.local.eval;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The committed judge (models/judge, trained on PIL renders) against the other renderer: the
 * evaluation's txt2img figures are only as good as this.
 */
class ImageJudgeTest {
  @Test
  void theJudgeNamesColourAndShapeOfJava2dRendersItNeverSaw() throws Exception {
    try (ImageJudge judge = ImageJudge.load(Path.of("..", "models", "judge"))) {
      Txt2ImgEvaluation.Score score = Txt2ImgEvaluation.judgeAccuracy(judge, 1000, 424242L);
      assertThat(score.samples()).isEqualTo(1000);
      assertThat(score.fraction()).isGreaterThanOrEqualTo(0.99);
    }
  }
}
