package dev.inferpipe.consumer.exported;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The decoder's softmax: the skipped exponentials change no bit, and NaN still spreads. */
class SoftmaxTest {
  @Test
  void skippingUnderflowingExponentialsGivesTheSameBitsAsComputingThemAll() {
    SplittableRandom random = new SplittableRandom(7);
    for (int round = 0; round < 200; round++) {
      float[] logits = new float[1000];
      for (int i = 0; i < logits.length; i++) {
        // a masked vocabulary (-1e4), logits about -746 below the max (the cut), logits whose
        // probabilities are tiny but still floats (a cut too high would zero them), ordinary ones
        logits[i] = switch (random.nextInt(5)) {
          case 0 -> -1e4f;
          case 1 -> (float) (-736 - 20 * random.nextDouble());
          case 2 -> (float) (-40 - 60 * random.nextDouble());
          default -> (float) (20 * random.nextDouble() - 10);
        };
      }
      assertThat(EncoderDecoderModel.softmax(logits)).containsExactly(everyExponential(logits));
    }
  }

  @Test
  void aMaskedVocabularyPutsAllItsMassOnTheOpenIds() {
    float[] logits = new float[30_522];
    java.util.Arrays.fill(logits, -1e4f);
    logits[1000] = 2f;
    logits[2000] = 1f;
    float[] p = EncoderDecoderModel.softmax(logits);
    assertThat((double) p[1000] + p[2000]).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-6));
    assertThat(p[1000]).isCloseTo((float) (1 / (1 + Math.exp(-1))),
        org.assertj.core.data.Offset.offset(1e-6f));
    assertThat(p[5]).isZero();
  }

  @Test
  void aNonFiniteLogitMakesEveryProbabilityNaN() {
    for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY}) {
      float[] p = EncoderDecoderModel.softmax(new float[] {1f, bad, -1e4f});
      for (float v : p) {
        assertThat(v).as("with %s", bad).isNaN();
      }
    }
    // -Infinity is a masked id, as -1e4 is
    float[] masked = EncoderDecoderModel.softmax(new float[] {1f, Float.NEGATIVE_INFINITY});
    assertThat(masked).containsExactly(1f, 0f);
  }

  /** The oracle: every exponential computed, in the same order and precision as the model. */
  private static float[] everyExponential(float[] logits) {
    double max = IntStream.range(0, logits.length).mapToDouble(i -> logits[i]).max().orElseThrow();
    double[] e = IntStream.range(0, logits.length).mapToDouble(i -> Math.exp(logits[i] - max))
        .toArray();
    double sum = 0;
    for (double v : e) {
      sum += v; // in index order, as the model sums
    }
    double total = sum;
    float[] p = new float[logits.length];
    IntStream.range(0, logits.length).forEach(i -> p[i] = (float) (e[i] / total));
    return p;
  }
}
