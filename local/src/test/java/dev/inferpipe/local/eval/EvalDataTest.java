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

  private static World world() throws java.io.IOException {
    return World.load(java.nio.file.Path.of("..", "models", "world.json"));
  }

  @Test
  void vqaScenesAreVariedAndQuestionsUnambiguous() throws Exception {
    SplittableRandom random = new SplittableRandom(2);
    EvalQuestions train = new EvalQuestions(world(), false);
    EvalQuestions heldOut = new EvalQuestions(world(), true);
    Set<Integer> sizes = new HashSet<>();
    Map<String, Integer> backgrounds = new java.util.TreeMap<>();
    int asked = 0;
    for (int i = 0; i < 300; i++) {
      Scene scene = Java2dRenderer.vqa(random);
      int size = scene.image().getWidth();
      sizes.add(size);
      backgrounds.merge(scene.background(), 1, Integer::sum);
      if (scene.background().equals("noise")) {
        int corner = scene.image().getRGB(0, 0);
        assertThat((corner >> 16) & 0xff).isEqualTo(corner & 0xff); // grey noise
      }
      assertThat(size).isBetween(80, 200);
      assertThat(scene.things()).hasSizeBetween(1, 3);
      assertThat(scene.things().stream().map(t -> t.colour() + "/" + t.kind()).distinct().count())
          .isEqualTo(scene.things().size());
      for (Thing thing : scene.things()) {
        assertThat(thing.extent()).isBetween(16.0, 96.0);
        assertThat(thing.cx() - thing.extent() / 2).isGreaterThanOrEqualTo(0);
        assertThat(thing.cx() + thing.extent() / 2).isLessThanOrEqualTo(size);
      }
      Optional<EvalQuestions.Qa> qa = (i % 2 == 0 ? heldOut : train).ask(scene, size, random);
      if (qa.isPresent()) {
        asked++;
        assertThat(qa.get().answer()).isIn("red", "green", "blue", "yellow", "circle", "square",
            "triangle", "yes", "no", "one", "two", "three", "left", "right", "top", "bottom");
        assertThat(qa.get().question()).doesNotContain("{", "}");
        assertThat(qa.get().family()).isIn("colour", "shape", "exists", "count", "count_shape",
            "count_colour", "horizontal", "vertical");
      }
    }
    // The evaluation reports its score per background kind; each must be there to report.
    assertThat(backgrounds.keySet()).containsExactly("dark", "gradient", "light", "noise");
    assertThat(backgrounds.values()).allMatch(n -> n > 50);
    assertThat(sizes.size()).isGreaterThan(50);
    assertThat(asked).isGreaterThan(150);
  }

  /** The held-out language is the training's own list, 30+ phrasings, and this evaluation keeps to it. */
  @Test
  void paraphrasesUseOnlyTheHeldOutLanguage() throws Exception {
    World world = world();
    assertThat(new EvalQuestions(world, true).phrasings()).isGreaterThanOrEqualTo(30);
    List<String> heldOutWords = world.heldOutWords();
    assertThat(heldOutWords).contains("scarlet", "crimson", "ball", "disc", "box", "wedge");
    List<EvalPrompts.Prompt> prompts = EvalPrompts.paraphrases(world, 400, 3);
    for (EvalPrompts.Prompt prompt : prompts) {
      boolean heldOutWord = java.util.Arrays.stream(prompt.text().split("[^a-z']+"))
          .anyMatch(heldOutWords::contains);
      boolean heldOutForm = world.heldOutObjectForms().stream().anyMatch(f -> prompt.text().matches(
          ".*" + f.replace("{colour}", "[a-z ]+").replace("{shape}", "[a-z ]+") + ".*"));
      assertThat(heldOutWord || heldOutForm).as(prompt.text()).isTrue();
      // It names the words it was written with, so a score splits by word.
      assertThat(prompt.text()).contains(prompt.colourWord(), prompt.shapeWord());
      assertThat(prompt.colour().word().equals(prompt.colourWord())
          || world.colourWords("held_out", prompt.colour().word()).contains(prompt.colourWord()))
          .as(prompt.colourWord()).isTrue();
      assertThat(prompt.kind().word().equals(prompt.shapeWord())
          || world.shapeWords("held_out", prompt.kind().word()).contains(prompt.shapeWord()))
          .as(prompt.shapeWord()).isTrue();
      assertThat(prompt.slices()).hasSize(2);
    }
    assertThat(prompts.stream().map(EvalPrompts.Prompt::text).distinct().count()).isGreaterThan(100);
    // The evaluation draws in the training's colours.
    for (Colour colour : Colour.values()) {
      java.awt.Color rgb = colour.rgb();
      assertThat(world.rgb(colour.word())).containsExactly(rgb.getRed(), rgb.getGreen(), rgb.getBlue());
    }
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
