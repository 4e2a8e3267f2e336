package dev.inferpipe.local.eval;

import dev.inferpipe.local.eval.Shapes.Colour;
import dev.inferpipe.local.eval.Shapes.Kind;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The evaluation's one-object prompts. Templates are the plain training form ({@code a red
 * circle}); paraphrases use only the held-out language of {@link World}: held-out synonyms,
 * object forms ({@code a square that is blue}) and prompt templates ({@code show me ...}).
 */
public final class EvalPrompts {
  /** A prompt and the one object it asks for. */
  /**
   * @param colourWord the word the prompt names its colour with (e.g. {@code scarlet})
   * @param shapeWord the word or phrase it names its shape with (e.g. {@code round shape})
   * @param slices how else it was written, for {@link Txt2ImgEvaluation.Score#slices()} (e.g.
   *     {@code template=held out}); empty for the template prompts, which are not split
   */
  public record Prompt(String text, Colour colour, Kind kind, String colourWord, String shapeWord,
      List<String> slices) {
    public Prompt {
      slices = List.copyOf(slices);
    }

    /** A prompt in the training's own words, not split. */
    static Prompt plain(String text, Colour colour, Kind kind) {
      return new Prompt(text, colour, kind, colour.word(), kind.word(), List.of());
    }
  }

  private EvalPrompts() {}

  public static List<Prompt> templates() {
    List<Prompt> prompts = new ArrayList<>();
    for (Colour colour : Colour.values()) {
      for (Kind kind : Kind.values()) {
        prompts.add(Prompt.plain(article(colour.word()) + " " + colour.word() + " " + kind.word(),
            colour, kind));
      }
    }
    return prompts;
  }

  /** {@code count} held-out prompts, each naming one object with at least one held-out word or form. */
  public static List<Prompt> paraphrases(World world, int count, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    List<Prompt> prompts = new ArrayList<>();
    while (prompts.size() < count) {
      Colour colour = Colour.values()[random.nextInt(4)];
      Kind kind = Kind.values()[random.nextInt(3)];
      String object;
      String c;
      String s;
      boolean form = random.nextDouble() < 0.35;
      if (form) {
        String pattern = pick(world.heldOutObjectForms(), random);
        c = anyWord(world.colourWords("train", colour.word()).get(0),
            world.colourWords("held_out", colour.word()), random);
        s = anyWord(kind.word(), world.shapeWords("held_out", kind.word()), random);
        object = pattern.replace("{colour}", c).replace("{shape}", s);
      } else {
        // At least one of the two words is held out.
        boolean heldColour = random.nextBoolean();
        c = heldColour ? pick(world.colourWords("held_out", colour.word()), random)
            : anyWord(colour.word(), world.colourWords("held_out", colour.word()), random);
        s = heldColour ? anyWord(kind.word(), world.shapeWords("held_out", kind.word()), random)
            : pick(world.shapeWords("held_out", kind.word()), random);
        object = article(c) + " " + c + " " + s;
      }
      boolean bare = random.nextBoolean();
      String text = bare ? object
          : pick(world.promptTemplates("held_out", 1), random).replace("{o}", object);
      prompts.add(new Prompt(text, colour, kind, c, s, List.of(
          form ? "object form=held out" : "object form=colour before shape",
          bare ? "template=none" : "template=held out")));
    }
    return prompts;
  }

  private static String anyWord(String base, List<String> heldOut, SplittableRandom random) {
    return random.nextBoolean() ? base : pick(heldOut, random);
  }

  static String pick(List<String> values, SplittableRandom random) {
    return values.get(random.nextInt(values.size()));
  }

  static String article(String word) {
    return "aeiou".indexOf(word.charAt(0)) >= 0 ? "an" : "a";
  }
}
