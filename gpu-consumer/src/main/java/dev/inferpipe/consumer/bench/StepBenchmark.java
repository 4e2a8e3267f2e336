package dev.inferpipe.consumer.bench;

import ai.djl.Device;
import dev.inferpipe.consumer.model.DiffusionModel;
import dev.inferpipe.consumer.model.ModelLoader;
import dev.inferpipe.consumer.model.ModelRepository;
import dev.inferpipe.consumer.model.VqaModel;
import dev.inferpipe.consumer.pipeline.StepTelemetry;
import dev.inferpipe.consumer.pipeline.Txt2ImgPipeline;
import dev.inferpipe.consumer.pipeline.VqaPipeline;
import dev.inferpipe.core.job.Txt2ImgInput;
import dev.inferpipe.core.job.VqaInput;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code ./pipeline bench}: per-step latency of the bundled models at batch 1, with step
 * telemetry as spans, as span events, and off. Modes are interleaved job by job in one run, so
 * machine noise hits all of them alike; spans go through a real SDK and batch processor to an
 * exporter that counts and drops them (the cost measured is the instrumentation's, not a
 * network's).
 */
public final class StepBenchmark {
  private StepBenchmark() {}

  public static void main(String[] args) throws Exception {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 12;
    int steps = 25;
    AtomicLong exported = new AtomicLong();
    SpanExporter counting = new SpanExporter() {
      @Override
      public CompletableResultCode export(Collection<SpanData> spans) {
        exported.addAndGet(spans.size());
        return CompletableResultCode.ofSuccess();
      }

      @Override
      public CompletableResultCode flush() {
        return CompletableResultCode.ofSuccess();
      }

      @Override
      public CompletableResultCode shutdown() {
        return CompletableResultCode.ofSuccess();
      }
    };
    ModelRepository repository = new ModelRepository("classpath:models/", Path.of("/tmp"), () -> null);
    ModelLoader loader = new ModelLoader(Device.cpu());
    try (SdkTracerProvider provider = SdkTracerProvider.builder()
            .addSpanProcessor(BatchSpanProcessor.builder(counting).build()).build();
        DiffusionModel diffusion = (DiffusionModel) loader.load(
            repository.fetch("tiny-shapes-diffusion"));
        VqaModel vqa = (VqaModel) loader.load(repository.fetch("tiny-shapes-vqa"))) {
      var tracer = provider.get("bench");
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      Map<StepTelemetry, Txt2ImgPipeline> txt2img = new EnumMap<>(StepTelemetry.class);
      Map<StepTelemetry, VqaPipeline> answer = new EnumMap<>(StepTelemetry.class);
      for (StepTelemetry mode : StepTelemetry.values()) {
        txt2img.put(mode, new Txt2ImgPipeline(tracer, mode, registry));
        answer.put(mode, new VqaPipeline(tracer, mode, registry, (uri, tenant) -> null, Duration.ofSeconds(10),
            System::nanoTime));
      }
      Txt2ImgInput input = new Txt2ImgInput("a red circle", "", steps, 3.0, 7L, "ddim", 32, 32);
      VqaInput question = new VqaInput(ModelBenchmark.scene(), "what colour is the circle?", 4);
      Map<StepTelemetry, List<Double>> stepMs = new EnumMap<>(StepTelemetry.class);
      Map<StepTelemetry, List<Double>> vqaMs = new EnumMap<>(StepTelemetry.class);
      for (int round = -2; round < rounds; round++) { // two warm-up rounds
        for (StepTelemetry mode : StepTelemetry.values()) {
          long start = System.nanoTime();
          txt2img.get(mode).run(diffusion, List.of(input), () -> false);
          double perStep = (System.nanoTime() - start) / 1e6 / steps;
          start = System.nanoTime();
          answer.get(mode).run(vqa, question, () -> false);
          double perJob = (System.nanoTime() - start) / 1e6;
          if (round >= 0) {
            stepMs.computeIfAbsent(mode, m -> new ArrayList<>()).add(perStep);
            vqaMs.computeIfAbsent(mode, m -> new ArrayList<>()).add(perJob);
          }
        }
      }
      provider.forceFlush().join(10, java.util.concurrent.TimeUnit.SECONDS);
      System.out.printf("txt2img tiny-shapes-diffusion, batch 1, %d DDIM steps, cfg 3 (2 UNet rows per step), %d rounds%n",
          steps, rounds);
      System.out.println("mode     per-step ms (median)  per-step ms (mean)  vs off");
      double offMedian = median(stepMs.get(StepTelemetry.OFF));
      for (StepTelemetry mode : StepTelemetry.values()) {
        List<Double> values = stepMs.get(mode);
        System.out.printf("%-8s %20.3f %19.3f  %6.3fx%n", mode.name().toLowerCase(), median(values),
            mean(values), median(values) / offMedian);
      }
      System.out.println();
      System.out.println("vqa tiny-shapes-vqa, batch 1, whole pipeline per job");
      System.out.println("mode     per-job ms (median)   per-job ms (mean)   vs off");
      double vqaOff = median(vqaMs.get(StepTelemetry.OFF));
      for (StepTelemetry mode : StepTelemetry.values()) {
        List<Double> values = vqaMs.get(mode);
        System.out.printf("%-8s %20.3f %19.3f  %6.3fx%n", mode.name().toLowerCase(), median(values),
            mean(values), median(values) / vqaOff);
      }
      System.out.printf("%nspans exported: %d%n", exported.get());
    }
  }

  /** The middle value of {@code values} (any order); for an even count, the mean of the two. */
  public static double median(List<Double> values) {
    List<Double> sorted = new ArrayList<>(values);
    sorted.sort(Double::compare);
    int n = sorted.size();
    return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
  }

  private static double mean(List<Double> values) {
    return values.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
  }
}
