package dev.inferpipe.consumer.bench;

import ai.djl.Device;
import dev.inferpipe.consumer.model.DiffusionModel;
import dev.inferpipe.consumer.model.LoadedModel;
import dev.inferpipe.consumer.model.ModelLoader;
import dev.inferpipe.consumer.model.ModelRepository;
import dev.inferpipe.consumer.model.VqaModel;
import dev.inferpipe.consumer.pipeline.StepTelemetry;
import dev.inferpipe.consumer.pipeline.Txt2ImgPipeline;
import dev.inferpipe.consumer.pipeline.VqaPipeline;
import dev.inferpipe.core.job.Txt2ImgInput;
import dev.inferpipe.core.job.VqaInput;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.imageio.ImageIO;

/**
 * {@code ./pipeline bench models <root>=<id> ...}: whole-job latency of several models side by
 * side, rounds interleaved model by model in one run (so machine noise hits all alike), at the
 * default 25 DDIM steps with guidance for txt2img ({@code --steps N} for others) and one
 * question for vqa. It also reports the share of each job spent in the text encoder
 * ({@code diffusion.encode_prompt} or {@code vqa.model.encode_text}), read from the pipelines'
 * own spans.
 */
public final class ModelBenchmark {
  private ModelBenchmark() {}

  /** One model to measure: {@code root} is any {@code INFERPIPE_MODEL_URI}. */
  record Target(String root, String modelId) {
    static Target parse(String arg) {
      int eq = arg.lastIndexOf('=');
      if (eq <= 0 || eq == arg.length() - 1) {
        throw new IllegalArgumentException("expected <root>=<model_id>, got " + arg);
      }
      return new Target(arg.substring(0, eq), arg.substring(eq + 1));
    }
  }

  public static int run(List<String> args, PrintStream out) throws Exception {
    int rounds = 10;
    int steps = 25;
    List<Target> targets = new ArrayList<>();
    for (int i = 0; i < args.size(); i++) {
      if (args.get(i).equals("--rounds")) {
        rounds = Integer.parseInt(args.get(++i));
      } else if (args.get(i).equals("--steps")) {
        steps = Integer.parseInt(args.get(++i));
      } else {
        targets.add(Target.parse(args.get(i)));
      }
    }
    if (targets.isEmpty()) {
      out.println("usage: ./pipeline bench models [--rounds N] [--steps N] <root>=<model_id> ...");
      return 2;
    }
    // Each stage's time in the last job, by span name ("diffusion.step 3" counts as
    // "diffusion.step"): the text encoder's share, and where the rest of a job goes.
    Map<String, Long> stageNanos = new ConcurrentHashMap<>();
    SpanExporter stageTimes = new SpanExporter() {
      @Override
      public io.opentelemetry.sdk.common.CompletableResultCode export(Collection<SpanData> spans) {
        for (SpanData span : spans) {
          stageNanos.merge(span.getName().replaceFirst(" \\d+$", ""),
              span.getEndEpochNanos() - span.getStartEpochNanos(), Long::sum);
        }
        return io.opentelemetry.sdk.common.CompletableResultCode.ofSuccess();
      }

      @Override
      public io.opentelemetry.sdk.common.CompletableResultCode flush() {
        return io.opentelemetry.sdk.common.CompletableResultCode.ofSuccess();
      }

      @Override
      public io.opentelemetry.sdk.common.CompletableResultCode shutdown() {
        return io.opentelemetry.sdk.common.CompletableResultCode.ofSuccess();
      }
    };
    Map<Target, LoadedModel> models = new LinkedHashMap<>();
    try (SdkTracerProvider provider = SdkTracerProvider.builder()
        .addSpanProcessor(SimpleSpanProcessor.create(stageTimes)).build()) {
      for (Target target : targets) {
        ModelRepository repository = new ModelRepository(target.root(),
            Path.of(System.getProperty("java.io.tmpdir"), "inferpipe-bench-models"), () -> null);
        models.put(target, new ModelLoader(Device.cpu()).load(repository.fetch(target.modelId())));
      }
      var tracer = provider.get("bench");
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      Txt2ImgPipeline txt2img = new Txt2ImgPipeline(tracer, StepTelemetry.SPANS, registry);
      VqaPipeline vqa = new VqaPipeline(tracer, StepTelemetry.SPANS, registry,
          (uri, tenant) -> null, Duration.ofMinutes(1), System::nanoTime);
      String image = scene();
      Map<Target, List<Double>> jobMs = new LinkedHashMap<>();
      Map<Target, List<Double>> encoderMs = new LinkedHashMap<>();
      Map<Target, Map<String, List<Double>>> stageMs = new LinkedHashMap<>();
      for (int round = -2; round < rounds; round++) { // two warm-up rounds
        for (Map.Entry<Target, LoadedModel> entry : models.entrySet()) {
          LoadedModel model = entry.getValue();
          stageNanos.clear();
          long start = System.nanoTime();
          if (model instanceof DiffusionModel diffusion) {
            // A new prompt each round: none comes from the model's encoded-text memo.
            String prompt = "a red circle " + (round + 3);
            txt2img.run(diffusion, List.of(new Txt2ImgInput(prompt, "", steps, 3.0, 7L + round,
                "ddim", model.spec().width(), model.spec().height())), () -> false);
          } else if (model instanceof VqaModel answerer) {
            vqa.run(answerer, new VqaInput(image, "what colour is the circle?", 4), () -> false);
          }
          double ms = (System.nanoTime() - start) / 1e6;
          if (round >= 0) {
            jobMs.computeIfAbsent(entry.getKey(), t -> new ArrayList<>()).add(ms);
            encoderMs.computeIfAbsent(entry.getKey(), t -> new ArrayList<>())
                .add((stageNanos.getOrDefault("diffusion.encode_prompt", 0L)
                    + stageNanos.getOrDefault("vqa.model.encode_text", 0L)) / 1e6);
            Map<String, List<Double>> stages = stageMs.computeIfAbsent(entry.getKey(),
                t -> new java.util.TreeMap<>());
            stageNanos.forEach((name, nanos) ->
                stages.computeIfAbsent(name, n -> new ArrayList<>()).add(nanos / 1e6));
          }
        }
      }
      out.printf("%d rounds, interleaved; txt2img: %d DDIM steps, cfg 3, batch 1; vqa: one "
          + "question%n", rounds, steps);
      out.printf("%-50s %14s %14s %10s%n", "model", "job ms (median)", "encoder ms", "encoder %");
      for (Target target : targets) {
        double job = StepBenchmark.median(jobMs.get(target));
        double encoder = StepBenchmark.median(encoderMs.get(target));
        out.printf("%-50s %14.1f %14.1f %9.1f%%%n", target.root() + " " + target.modelId(), job,
            encoder, 100 * encoder / job);
      }
      out.printf("%nstages (median ms a job; spans nest, so they do not add up)%n");
      for (Target target : targets) {
        out.printf("%s %s%n", target.root(), target.modelId());
        stageMs.get(target).forEach((name, ms) -> out.printf("  %-36s %8.2f%n", name,
            StepBenchmark.median(ms)));
      }
    } finally {
      models.values().forEach(LoadedModel::close);
    }
    return 0;
  }

  /** The 96x96 scene both benches ask about (a red circle left, a blue square right), base64. */
  static String scene() throws java.io.IOException {
    BufferedImage image = new BufferedImage(96, 96, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = image.createGraphics();
    g.setColor(new Color(20, 20, 24));
    g.fillRect(0, 0, 96, 96);
    g.setColor(new Color(220, 40, 40));
    g.fillOval(8, 30, 34, 34);
    g.setColor(new Color(50, 80, 230));
    g.fillRect(56, 32, 30, 30);
    g.dispose();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    ImageIO.write(image, "png", bytes);
    return Base64.getEncoder().encodeToString(bytes.toByteArray());
  }
}
