package dev.inferpipe.local.eval;

import dev.inferpipe.consumer.model.DiffusionModel;
import dev.inferpipe.consumer.pipeline.Txt2ImgPipeline;
import dev.inferpipe.core.job.Txt2ImgInput;
import dev.inferpipe.local.eval.Shapes.Colour;
import dev.inferpipe.local.eval.Shapes.Kind;
import dev.inferpipe.local.eval.Shapes.Place;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;

/**
 * Generates images through the real txt2img pipeline and checks them: the judge for colour and
 * shape of one-object prompts (template and held-out paraphrases), colour masks for two-object
 * prompts (both colours present) and for position words (the object's centre in the named half).
 */
public final class Txt2ImgEvaluation {
  /** Pixels a colour needs in a 32x32 image to count as present (a small object is ~40). */
  static final int MIN_PIXELS = 12;

  private final Txt2ImgPipeline pipeline;
  private final DiffusionModel model;
  private final ImageJudge judge;
  private final int steps;
  private final double guidance;

  public Txt2ImgEvaluation(Txt2ImgPipeline pipeline, DiffusionModel model, ImageJudge judge,
      int steps, double guidance) {
    this.pipeline = pipeline;
    this.model = model;
    this.judge = judge;
    this.steps = steps;
    this.guidance = guidance;
  }

  /** One measured fraction, with the same samples split by what varied (empty when not split). */
  public record Score(String measure, int samples, int right, List<Slice> slices) {
    public Score(String measure, int samples, int right) {
      this(measure, samples, right, List.of());
    }

    public Score {
      slices = List.copyOf(slices);
    }

    public double fraction() {
      return samples == 0 ? Double.NaN : (double) right / samples;
    }
  }

  /** The samples that share one value of what varied, e.g. {@code format=jpeg}. */
  public record Slice(String name, int samples, int right) {
    public double fraction() {
      return samples == 0 ? Double.NaN : (double) right / samples;
    }
  }

  private BufferedImage generate(String prompt, long seed) {
    byte[] png = pipeline.run(model, List.of(new Txt2ImgInput(prompt, "", steps, guidance, seed,
        "ddim", model.spec().width(), model.spec().height())), () -> false).get(0).png();
    try {
      return ImageIO.read(new ByteArrayInputStream(png));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Colour and shape both right, by the judge, for {@code samples} prompts from {@code prompts}. */
  public Score oneObject(String measure, List<EvalPrompts.Prompt> prompts, int samples, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    int right = 0;
    Slices slices = new Slices();
    for (int i = 0; i < samples; i++) {
      EvalPrompts.Prompt prompt = prompts.get(i % prompts.size());
      ImageJudge.Verdict verdict = judge.judge(generate(prompt.text(), random.nextLong(1L << 32)));
      boolean colour = verdict.colour() == prompt.colour();
      boolean kind = verdict.kind() == prompt.kind();
      right += colour && kind ? 1 : 0;
      if (!prompt.slices().isEmpty()) {
        // Which half of the verdict a miss gets wrong, and with which word.
        slices.add(colour && kind, prompt.slices().toArray(String[]::new));
        slices.add(colour, "colour right", "colour right, colour word=" + prompt.colourWord());
        slices.add(kind, "shape right", "shape right, shape word=" + prompt.shapeWord());
      }
    }
    return new Score(measure, samples, right, slices.list());
  }

  /** Two-object prompts: both named colours present. */
  public Score twoObjects(int samples, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    int right = 0;
    Slices slices = new Slices();
    for (int i = 0; i < samples; i++) {
      Colour a = Colour.values()[random.nextInt(4)];
      Colour b = Colour.values()[(a.ordinal() + 1 + random.nextInt(3)) % 4];
      Kind ka = Kind.values()[random.nextInt(3)];
      Kind kb = Kind.values()[random.nextInt(3)];
      String prompt = "a " + a.word() + " " + ka.word() + " and a " + b.word() + " " + kb.word();
      Map<Colour, ColourMasks.Blob> blobs = ColourMasks.of(generate(prompt, random.nextLong(1L << 32)));
      boolean first = present(blobs, a);
      boolean second = present(blobs, b);
      right += first && second ? 1 : 0;
      // Which object goes missing, and for which colours and shapes.
      String pair = a.ordinal() < b.ordinal() ? a.word() + "+" + b.word() : b.word() + "+" + a.word();
      slices.add(first && second, "colours=" + pair, "shapes=" + (ka == kb ? "same" : "different"));
      slices.add(first, "first object's colour present");
      slices.add(second, "second object's colour present");
    }
    return new Score("txt2img two-object prompts: both colours present", samples, right,
        slices.list());
  }

  /** Position words: the object's colour centred in the named half (or the middle third). */
  public Score positions(int samples, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    int right = 0;
    List<Place> places = List.of(Place.LEFT, Place.RIGHT, Place.TOP, Place.BOTTOM);
    for (int i = 0; i < samples; i++) {
      Colour colour = Colour.values()[random.nextInt(4)];
      Kind kind = Kind.values()[random.nextInt(3)];
      Place place = places.get(i % places.size());
      String where = switch (place) {
        case LEFT -> "on the left";
        case RIGHT -> "on the right";
        case TOP -> "at the top";
        case BOTTOM -> "at the bottom";
        case CENTRE -> "in the centre";
      };
      String prompt = "a " + colour.word() + " " + kind.word() + " " + where;
      ColourMasks.Blob blob = ColourMasks.of(generate(prompt, random.nextLong(1L << 32))).get(colour);
      right += blob != null && blob.pixels() >= MIN_PIXELS && place.holds(blob.cx(), blob.cy()) ? 1 : 0;
    }
    return new Score("txt2img position words: object in the named half", samples, right);
  }

  private static boolean present(Map<Colour, ColourMasks.Blob> blobs, Colour colour) {
    ColourMasks.Blob blob = blobs.get(colour);
    return blob != null && blob.pixels() >= MIN_PIXELS;
  }

  /** The judge's own accuracy on Java2D renders (the other renderer). */
  public static Score judgeAccuracy(ImageJudge judge, int samples, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    int right = 0;
    for (int i = 0; i < samples; i++) {
      Colour colour = Colour.values()[random.nextInt(4)];
      Kind kind = Kind.values()[random.nextInt(3)];
      ImageJudge.Verdict verdict = judge.judge(Java2dRenderer.single(colour, kind, 32, random).image());
      right += verdict.colour() == colour && verdict.kind() == kind ? 1 : 0;
    }
    return new Score("judge accuracy on Java2D renders", samples, right);
  }

  /** Keeps results in order for the report. */
  public static List<Score> list(Score... scores) {
    return new ArrayList<>(List.of(scores));
  }
}
