package dev.inferpipe.local.eval;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inferpipe.local.eval.Shapes.Colour;
import dev.inferpipe.local.eval.Shapes.Kind;
import dev.inferpipe.local.eval.Shapes.Place;
import dev.inferpipe.local.eval.Shapes.Scene;
import dev.inferpipe.local.eval.Shapes.Thing;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The evaluation's own data is what it claims: objects, answers and masks agree with the scene. */
class EvalDataTest {
  @Test
  void colourMasksFindEachObjectAndItsSide() {
    SplittableRandom random = new SplittableRandom(1);
    for (int i = 0; i < 200; i++) {
      Colour colour = Colour.values()[i % 4];
      Kind kind = Kind.values()[i % 3];
      Scene scene = Java2dRenderer.single(colour, kind, 32, random);
      Map<Colour, ColourMasks.Blob> blobs = ColourMasks.of(scene.image());
      assertThat(blobs).containsOnlyKeys(colour);
      Thing thing = scene.things().get(0);
      assertThat(blobs.get(colour).pixels()).isGreaterThanOrEqualTo(Txt2ImgEvaluation.MIN_PIXELS);
      assertThat(blobs.get(colour).cx()).isCloseTo(thing.cx() / 32, org.assertj.core.data.Offset.offset(0.08));
      assertThat(blobs.get(colour).cy()).isCloseTo(thing.cy() / 32 + (kind == Kind.TRIANGLE
          ? thing.extent() / 32 / 6 : 0), org.assertj.core.data.Offset.offset(0.08));
    }
  }

  @Test
  void vqaScenesAreVariedAndQuestionsUnambiguous() {
    SplittableRandom random = new SplittableRandom(2);
    Set<Integer> sizes = new HashSet<>();
    int asked = 0;
    for (int i = 0; i < 300; i++) {
      Scene scene = Java2dRenderer.vqa(random);
      int size = scene.image().getWidth();
      sizes.add(size);
      assertThat(size).isBetween(80, 200);
      assertThat(scene.things()).hasSizeBetween(1, 3);
      assertThat(scene.things().stream().map(t -> t.colour() + "/" + t.kind()).distinct().count())
          .isEqualTo(scene.things().size());
      for (Thing thing : scene.things()) {
        assertThat(thing.extent()).isBetween(16.0, 96.0);
        assertThat(thing.cx() - thing.extent() / 2).isGreaterThanOrEqualTo(0);
        assertThat(thing.cx() + thing.extent() / 2).isLessThanOrEqualTo(size);
      }
      Optional<EvalQuestions.Qa> qa = EvalQuestions.ask(scene, size, i % 2 == 0, random);
      if (qa.isPresent()) {
        asked++;
        assertThat(qa.get().answer()).isIn("red", "green", "blue", "yellow", "circle", "square",
            "triangle", "yes", "no", "one", "two", "three", "left", "right", "top", "bottom");
        assertThat(qa.get().question()).doesNotContain("{", "}");
      }
    }
    assertThat(sizes.size()).isGreaterThan(50);
    assertThat(asked).isGreaterThan(150);
  }

  @Test
  void thereAreAtLeastThirtyHeldOutPhrasingsAndTheyDifferFromTheTemplates() {
    List<String> paraphrases = EvalQuestions.paraphrases();
    assertThat(paraphrases).hasSizeGreaterThanOrEqualTo(30).doesNotHaveDuplicates();
    for (List<List<String>> family : EvalQuestions.FAMILIES) {
      assertThat(family.get(1)).doesNotContainAnyElementsOf(family.get(0));
    }
    assertThat(EvalPrompts.paraphrases()).extracting(EvalPrompts.Prompt::text)
        .doesNotContainAnyElementsOf(EvalPrompts.templates().stream().map(EvalPrompts.Prompt::text).toList());
  }

  @Test
  void placesFollowTheHalves() {
    assertThat(Place.LEFT.holds(0.2, 0.9)).isTrue();
    assertThat(Place.RIGHT.holds(0.2, 0.9)).isFalse();
    assertThat(Place.BOTTOM.holds(0.2, 0.9)).isTrue();
    assertThat(Place.CENTRE.holds(0.5, 0.5)).isTrue();
    assertThat(Place.CENTRE.holds(0.2, 0.5)).isFalse();
  }
}
