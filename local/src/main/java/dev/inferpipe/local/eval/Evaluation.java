package dev.inferpipe.local.eval;

import ai.djl.Device;
import dev.inferpipe.consumer.model.DiffusionModel;
import dev.inferpipe.consumer.model.LoadedModel;
import dev.inferpipe.consumer.model.ModelLoader;
import dev.inferpipe.consumer.model.ModelRepository;
import dev.inferpipe.consumer.model.VqaModel;
import dev.inferpipe.consumer.pipeline.StepTelemetry;
import dev.inferpipe.consumer.pipeline.Txt2ImgPipeline;
import dev.inferpipe.consumer.pipeline.VqaPipeline;
import dev.inferpipe.core.job.Task;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Tracer;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * {@code ./pipeline evaluate}: the bundled models' quality, measured through the serving
 * pipelines on data from a renderer the training never used, on held-out seeds.
 */
public final class Evaluation {
  /** The targets each measure is held to, in report order. */
  public record Target(String measure, double minimum) {}

  public static final List<Target> TARGETS = List.of(
      new Target("judge accuracy on Java2D renders", 0.99),
      new Target("txt2img template prompts: colour and shape right", 0.95),
      new Target("txt2img paraphrase prompts: colour and shape right", 0.85),
      new Target("txt2img two-object prompts: both colours present", 0.80),
      new Target("txt2img position words: object in the named half", 0.85),
      new Target("vqa exact match, template questions", 0.97),
      new Target("vqa exact match, paraphrased questions", 0.90));

  private Evaluation() {}

  /**
   * @param modelRoot where the models are ({@code classpath:models/} for the bundled ones)
   * @param judgeDir the judge's directory ({@code models/judge})
   * @param world the language split ({@code models/world.json})
   * @param tasks the tasks to measure (the judge's own accuracy goes with txt2img)
   */
  public static List<Txt2ImgEvaluation.Score> run(String modelRoot, String diffusionId,
      String vqaId, Path judgeDir, World world, int samples, long seed, Set<Task> tasks)
      throws Exception {
    Tracer tracer = OpenTelemetry.noop().getTracer("evaluate");
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    ModelRepository repository = new ModelRepository(modelRoot,
        Path.of(System.getProperty("java.io.tmpdir"), "inferpipe-eval-models"), () -> null);
    ModelLoader loader = new ModelLoader(Device.cpu());
    List<Txt2ImgEvaluation.Score> scores = new ArrayList<>();
    if (tasks.contains(Task.TXT2IMG)) {
      images(scores, tracer, registry, loader, repository, diffusionId, judgeDir, world, samples,
          seed);
    }
    if (tasks.contains(Task.VQA)) {
      try (LoadedModel vqa = loader.load(repository.fetch(vqaId))) {
        VqaEvaluation answers = new VqaEvaluation(new VqaPipeline(tracer, StepTelemetry.OFF,
            registry, (uri, tenant) -> null, Duration.ofMinutes(1), System::nanoTime),
            (VqaModel) vqa);
        scores.add(answers.exactMatch(TARGETS.get(5).measure(), new EvalQuestions(world, false),
            samples, seed + 5));
        scores.add(answers.exactMatch(TARGETS.get(6).measure(), new EvalQuestions(world, true),
            samples, seed + 6));
      }
    }
    return scores;
  }

  private static void images(List<Txt2ImgEvaluation.Score> scores, Tracer tracer,
      SimpleMeterRegistry registry, ModelLoader loader, ModelRepository repository,
      String diffusionId, Path judgeDir, World world, int samples, long seed) throws Exception {
    try (ImageJudge judge = ImageJudge.load(judgeDir);
        LoadedModel diffusion = loader.load(repository.fetch(diffusionId))) {
      scores.add(Txt2ImgEvaluation.judgeAccuracy(judge, samples, seed));
      Txt2ImgEvaluation images = new Txt2ImgEvaluation(
          new Txt2ImgPipeline(tracer, StepTelemetry.OFF, registry), (DiffusionModel) diffusion,
          judge, diffusion.spec().defaultSteps(), 3.0);
      scores.add(images.oneObject(TARGETS.get(1).measure(), EvalPrompts.templates(), samples, seed + 1));
      scores.add(images.oneObject(TARGETS.get(2).measure(),
          EvalPrompts.paraphrases(world, samples, seed + 20), samples, seed + 2));
      scores.add(images.twoObjects(samples, seed + 3));
      scores.add(images.positions(samples, seed + 4));
    }
  }

  public static void print(List<Txt2ImgEvaluation.Score> scores, PrintStream out) {
    out.printf("%-55s %8s %9s %8s%n", "measure", "samples", "measured", "target");
    for (Txt2ImgEvaluation.Score score : scores) {
      double target = TARGETS.stream().filter(t -> t.measure().equals(score.measure()))
          .mapToDouble(Target::minimum).findFirst().orElse(Double.NaN);
      out.printf("%-55s %8d %9.4f %8s %s%n", score.measure(), score.samples(), score.fraction(),
          "≥ " + target, score.fraction() >= target ? "" : "MISSED");
      for (Txt2ImgEvaluation.Slice slice : score.slices()) {
        out.printf("    %-51s %8d %9.4f%n", slice.name(), slice.samples(), slice.fraction());
      }
    }
  }
}
