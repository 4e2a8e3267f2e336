package dev.inferpipe.consumer.batch;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.inferpipe.consumer.TestModels;
import dev.inferpipe.consumer.TestScenes;
import dev.inferpipe.consumer.pipeline.VqaAnswer;
import dev.inferpipe.core.job.VqaInput;
import dev.inferpipe.consumer.diffusion.NoiseSchedule;
import dev.inferpipe.consumer.model.DiffusionModel;
import dev.inferpipe.consumer.model.LoadedModel;
import dev.inferpipe.consumer.pipeline.JobFailedException;
import dev.inferpipe.consumer.pipeline.StepTelemetry;
import dev.inferpipe.consumer.pipeline.Txt2ImgPipeline;
import dev.inferpipe.consumer.pipeline.VqaPipeline;
import dev.inferpipe.core.job.ErrorCode;
import dev.inferpipe.core.job.Job;
import dev.inferpipe.core.job.Task;
import dev.inferpipe.core.job.Txt2ImgInput;
import dev.inferpipe.core.model.ModelSpec;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.LinkData;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The scheduler on the bundled diffusion model: joining, leaving, isolation, determinism. */
class BatchSchedulerTest {
  private final InMemorySpanExporter spans = InMemorySpanExporter.create();
  private final SdkTracerProvider provider =
      SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(spans)).build();
  private final Tracer tracer = provider.get("test");
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final List<BatchScheduler> schedulers = new ArrayList<>();

  @AfterEach
  void close() {
    schedulers.forEach(BatchScheduler::close);
    provider.close();
  }

  private BatchScheduler scheduler(int maxBatch, DiffusionModel model) {
    BatchScheduler scheduler = BatchScheduler.builder()
        .settings(new BatchSettings(maxBatch, Duration.ZERO, Math.max(maxBatch, 4)))
        .models(id -> id.equals("tiny-shapes-vqa") ? TestModels.vqa() : model)
        .pipelines(new Txt2ImgPipeline(tracer, StepTelemetry.SPANS, registry),
            new VqaPipeline(tracer, StepTelemetry.SPANS, registry, (uri, tenant) -> new byte[0],
                Duration.ofSeconds(2), System::nanoTime))
        .telemetry(tracer, StepTelemetry.SPANS, registry)
        .start();
    schedulers.add(scheduler);
    return scheduler;
  }

  /** A submitted job: its outcome, and the span its spans hang under. */
  private record Submitted(String id, Span span, BatchJob handle,
      CompletableFuture<BatchOutcome> outcome) {
    BatchOutcome await() throws Exception {
      return outcome.get(120, TimeUnit.SECONDS);
    }

    byte[] png() throws Exception {
      BatchOutcome o = await();
      assertThat(o).as(id).isInstanceOf(BatchOutcome.Image.class);
      return ((BatchOutcome.Image) o).image().png();
    }
  }

  private Submitted submit(BatchScheduler scheduler, String id, Txt2ImgInput input,
      BooleanSupplier cancelled) {
    Span span = tracer.spanBuilder("process " + id).startSpan();
    CompletableFuture<BatchOutcome> outcome = new CompletableFuture<>();
    Job job = new Job(id, Task.TXT2IMG, "tiny-shapes-diffusion", input, null);
    BatchJob handle = BatchJob.of(job, null, Context.root().with(span), cancelled, o -> {
      span.end();
      outcome.complete(o);
    });
    scheduler.submit(handle);
    return new Submitted(id, span, handle, outcome);
  }

  private static Txt2ImgInput input(String prompt, long seed, String sampler, int steps,
      double cfg) {
    return new Txt2ImgInput(prompt, "", steps, cfg, seed, sampler, 32, 32);
  }

  @Test
  void aShortJobJoinsALongRunningOneAndLeavesFirstEachWithItsOwnStepSpans() throws Exception {
    BatchScheduler scheduler = scheduler(8, TestModels.diffusion());
    Submitted longJob = submit(scheduler, "long", input("a red circle", 1, "ddim", 30, 3.0),
        () -> false);
    // Join only once the long job is sampling.
    while (spans.getFinishedSpanItems().stream().noneMatch(s -> s.getName().equals("diffusion.step 3"))) {
      Thread.sleep(5);
    }
    Submitted shortJob = submit(scheduler, "short", input("a blue square", 2, "euler", 3, 5.0),
        () -> false);
    shortJob.png();
    assertThat(longJob.outcome().isDone()).as("the short job left first").isFalse();
    longJob.png();

    List<SpanData> finished = spans.getFinishedSpanItems();
    List<SpanData> shortSteps = stepsOf(finished, shortJob);
    List<SpanData> longStepSpans = stepsOf(finished, longJob);
    assertThat(shortSteps).hasSize(3).allSatisfy(s -> {
      assertThat(s.getAttributes().asMap().toString()).contains("batch.size=2", "batch.id=");
    });
    assertThat(longStepSpans).hasSize(30);
    assertThat(longStepSpans).filteredOn(s -> s.getAttributes().asMap().toString()
        .contains("batch.size=2")).hasSize(3);
    // One unet call span per shared step, in its own trace, linked to both jobs.
    List<SpanData> unetCalls = finished.stream().filter(s -> s.getName().equals("unet batch"))
        .toList();
    assertThat(unetCalls).hasSize(3).allSatisfy(call -> {
      assertThat(call.getParentSpanContext().isValid()).isFalse();
      assertThat(call.getLinks()).extracting(LinkData::getSpanContext).extracting(SpanContext::getSpanId)
          .containsExactlyInAnyOrder(longJob.span().getSpanContext().getSpanId(),
              shortJob.span().getSpanContext().getSpanId());
    });
    assertThat(shortSteps).extracting(s -> s.getAttributes().asMap().toString())
        .allMatch(a -> unetCalls.stream().anyMatch(c -> a.contains("batch.id=" + c.getTraceId())));
    assertThat(registry.find("inference.batch.size").tag("call", "unet").summary().max())
        .isEqualTo(2.0);
  }

  private static List<SpanData> stepsOf(List<SpanData> finished, Submitted job) {
    String trace = job.span().getSpanContext().getTraceId();
    return finished.stream().filter(s -> s.getTraceId().equals(trace)
        && s.getName().startsWith("diffusion.step")).toList();
  }

  @Test
  void aCancelledMemberLeavesAtTheNextStepAndTheOthersFinish() throws Exception {
    BatchScheduler scheduler = scheduler(4, TestModels.diffusion());
    AtomicBoolean cancel = new AtomicBoolean();
    Submitted doomed = submit(scheduler, "doomed", input("a red circle", 1, "ddim", 40, 3.0),
        cancel::get);
    Submitted kept = submit(scheduler, "kept", input("a green square", 2, "ddim", 40, 3.0),
        () -> false);
    while (stepsOf(spans.getFinishedSpanItems(), doomed).size() < 5) {
      Thread.sleep(5);
    }
    cancel.set(true);
    assertThat(doomed.await()).isInstanceOf(BatchOutcome.Cancelled.class);
    assertThat(stepsOf(spans.getFinishedSpanItems(), doomed).size()).isLessThan(40);
    kept.png();
    assertThat(stepsOf(spans.getFinishedSpanItems(), kept)).hasSize(40);
  }

  @Test
  void aRowThatFailsIsIsolatedTheOthersGoOnWithTheSamePixels() throws Exception {
    DiffusionModel poisoned = new PoisonedModel(TestModels.diffusion());
    BatchScheduler sequential = scheduler(1, poisoned);
    byte[] aloneA = submit(sequential, "a", input("a red circle", 5, "ddpm", 6, 3.0), () -> false).png();
    byte[] aloneB = submit(sequential, "b", input("a blue triangle", 6, "ddim", 6, 3.0), () -> false).png();

    BatchScheduler batched = scheduler(8, poisoned);
    Submitted a = submit(batched, "a", input("a red circle", 5, "ddpm", 6, 3.0), () -> false);
    Submitted bad = submit(batched, "bad", input("explode", 7, "ddim", 6, 3.0), () -> false);
    Submitted b = submit(batched, "b", input("a blue triangle", 6, "ddim", 6, 3.0), () -> false);
    BatchOutcome failed = bad.await();
    assertThat(failed).isInstanceOf(BatchOutcome.Failed.class);
    assertThat(((BatchOutcome.Failed) failed).cause()).isInstanceOf(JobFailedException.class)
        .satisfies(e -> assertThat(((JobFailedException) e).code())
            .isEqualTo(ErrorCode.RESOURCE_EXHAUSTED));
    assertThat(maxPixelDifference(a.png(), aloneA)).isLessThanOrEqualTo(1);
    assertThat(maxPixelDifference(b.png(), aloneB)).isLessThanOrEqualTo(1);
  }

  @Test
  void anAbandonedJobIsDroppedWithoutAnOutput() throws Exception {
    BatchScheduler scheduler = scheduler(4, TestModels.diffusion());
    Submitted job = submit(scheduler, "gone", input("a red circle", 1, "ddim", 40, 3.0),
        () -> false);
    while (stepsOf(spans.getFinishedSpanItems(), job).size() < 2) {
      Thread.sleep(5);
    }
    Submitted waiting = submit(scheduler, "waiting", input("a red circle", 2, "ddim", 40, 3.0),
        () -> false);
    // What a revoked partition does to its jobs, running or not yet joined.
    job.handle().abandon();
    waiting.handle().abandon();
    assertThat(job.await()).isInstanceOf(BatchOutcome.Abandoned.class);
    assertThat(waiting.await()).isInstanceOf(BatchOutcome.Abandoned.class);
    assertThat(stepsOf(spans.getFinishedSpanItems(), job).size()).isLessThan(40);
    assertThat(spans.getFinishedSpanItems()).noneMatch(s -> s.getName().equals("diffusion.decode"));
  }

  /**
   * 100 jobs with mixed samplers, steps, seeds and guidance: each run alone, then all submitted
   * in waves so that they join running batches at different steps. Every job's PNG must match
   * its lone run within 1/255 per channel.
   */
  @Test
  void theSameJobGivesTheSamePixelsAloneOrInAnyBatch() throws Exception {
    List<Txt2ImgInput> inputs = new ArrayList<>();
    String[] samplers = {"ddim", "euler", "ddpm"};
    String[] prompts = {"a red circle", "a blue square on the left", "a small green triangle",
        "a yellow circle and a purple square", "a scarlet ball"};
    for (int i = 0; i < 100; i++) {
      inputs.add(input(prompts[i % prompts.length], 1000 + i, samplers[i % 3], 1 + (i * 7) % 6,
          1.0 + (i % 5)));
    }
    BatchScheduler sequential = scheduler(1, TestModels.diffusion());
    List<Submitted> alone = new ArrayList<>();
    for (int i = 0; i < inputs.size(); i++) {
      alone.add(submit(sequential, "j" + i, inputs.get(i), () -> false));
    }
    BatchScheduler batched = scheduler(8, TestModels.diffusion());
    List<Submitted> together = new ArrayList<>();
    for (int i = 0; i < inputs.size(); i++) {
      together.add(submit(batched, "j" + i, inputs.get(i), () -> false));
      if (i % 5 == 4) {
        Thread.sleep(15); // waves: later jobs join batches already a few steps in
      }
    }
    int worst = 0;
    int identical = 0;
    for (int i = 0; i < inputs.size(); i++) {
      byte[] a = alone.get(i).png();
      byte[] b = together.get(i).png();
      worst = Math.max(worst, maxPixelDifference(a, b));
      identical += java.util.Arrays.equals(a, b) ? 1 : 0;
    }
    System.out.printf("batching determinism: %d of 100 PNGs byte-identical, largest pixel "
        + "difference %d/255, unet batch size max %.0f%n", identical, worst,
        registry.find("inference.batch.size").tag("call", "unet").summary().max());
    assertThat(registry.find("inference.batch.size").tag("call", "unet").summary().max())
        .as("the jobs did share batches").isGreaterThan(1.0);
    assertThat(worst).isLessThanOrEqualTo(1);
  }

  /**
   * VQA jobs with different images, questions and token limits, alone and then all at once:
   * one encoder call and shared decoder calls, each job the same answer as alone.
   */
  @Test
  void vqaJobsShareEncoderAndDecoderCallsAndAnswerAsAlone() throws Exception {
    List<VqaInput> inputs = new ArrayList<>();
    TestScenes.Kind[] kinds = TestScenes.Kind.values();
    java.awt.Color[] colours = {TestScenes.RED, TestScenes.GREEN, TestScenes.BLUE, TestScenes.YELLOW};
    String[] questions = {"what colour is the circle?", "how many objects are there?",
        "is the shape on the left or the right?", "which color does the object have?"};
    for (int i = 0; i < 6; i++) {
      String scene = TestScenes.png(96 + 16 * i, TestScenes.GREY, new TestScenes.Shape(
          kinds[i % kinds.length], colours[i % colours.length], 30 + 8 * i, 40, 36));
      inputs.add(new VqaInput(scene, questions[i % questions.length], 1 + i % 4));
    }
    BatchScheduler sequential = scheduler(1, TestModels.diffusion());
    List<VqaAnswer> alone = new ArrayList<>();
    for (int i = 0; i < inputs.size(); i++) {
      alone.add(answer(submitVqa(sequential, "alone-" + i, inputs.get(i)).get(60, TimeUnit.SECONDS)));
    }
    spans.reset();
    BatchScheduler batched = scheduler(8, TestModels.diffusion());
    List<CompletableFuture<BatchOutcome>> together = new ArrayList<>();
    for (int i = 0; i < inputs.size(); i++) {
      together.add(submitVqa(batched, "together-" + i, inputs.get(i)));
    }
    for (int i = 0; i < inputs.size(); i++) {
      VqaAnswer a = answer(together.get(i).get(60, TimeUnit.SECONDS));
      assertThat(a.answer()).as("job %d", i).isEqualTo(alone.get(i).answer());
      assertThat(a.tokens()).as("job %d", i).isEqualTo(alone.get(i).tokens());
      assertThat(a.confidence()).as("job %d", i).isCloseTo(alone.get(i).confidence(),
          org.assertj.core.data.Offset.offset(1e-4));
    }
    List<SpanData> finished = spans.getFinishedSpanItems();
    assertThat(finished).filteredOn(s -> s.getName().equals("decoder batch"))
        .isNotEmpty().allSatisfy(c -> assertThat(c.getLinks()).hasSizeGreaterThan(1));
    assertThat(registry.find("inference.batch.size").tag("call", "encoder").summary().max())
        .isGreaterThan(1.0);
    assertThat(finished).filteredOn(s -> s.getName().startsWith("vqa.generate.step")
        && s.getAttributes().asMap().toString().contains("batch.size=")).isNotEmpty();
  }

  private CompletableFuture<BatchOutcome> submitVqa(BatchScheduler scheduler, String id,
      VqaInput input) {
    Span span = tracer.spanBuilder("process " + id).startSpan();
    CompletableFuture<BatchOutcome> outcome = new CompletableFuture<>();
    scheduler.submit(BatchJob.of(new Job(id, Task.VQA, "tiny-shapes-vqa", input, null), null,
        Context.root().with(span), () -> false, o -> {
          span.end();
          outcome.complete(o);
        }));
    return outcome;
  }

  private static VqaAnswer answer(BatchOutcome outcome) {
    assertThat(outcome).isInstanceOf(BatchOutcome.Answer.class);
    return ((BatchOutcome.Answer) outcome).answer();
  }

  static int maxPixelDifference(byte[] pngA, byte[] pngB) throws IOException {
    BufferedImage a = ImageIO.read(new ByteArrayInputStream(pngA));
    BufferedImage b = ImageIO.read(new ByteArrayInputStream(pngB));
    int worst = 0;
    for (int y = 0; y < a.getHeight(); y++) {
      for (int x = 0; x < a.getWidth(); x++) {
        int p = a.getRGB(x, y);
        int q = b.getRGB(x, y);
        for (int shift = 0; shift <= 16; shift += 8) {
          worst = Math.max(worst, Math.abs(((p >> shift) & 0xff) - ((q >> shift) & 0xff)));
        }
      }
    }
    return worst;
  }

  /**
   * The bundled model, except that the prompt "explode" yields NaN conditioning and a unet call
   * over NaN conditioning fails as an out-of-memory would: a fault on one row of a batch.
   */
  private static final class PoisonedModel implements DiffusionModel {
    private final DiffusionModel model;

    PoisonedModel(DiffusionModel model) {
      this.model = model;
    }

    @Override
    public Prompts encodePrompts(NDManager m, List<String> prompts) {
      Prompts real = model.encodePrompts(m, prompts);
      NDArray conditioning = real.conditioning();
      for (int i = 0; i < prompts.size(); i++) {
        if (prompts.get(i).equals("explode")) {
          conditioning.set(new ai.djl.ndarray.index.NDIndex(i), Float.NaN);
        }
      }
      return new Prompts(conditioning, real.unknownWords(), real.encodedRows());
    }

    @Override
    public NDArray predictNoise(NDArray x, long[] timesteps, NDArray conditioning) {
      if (conditioning.isNaN().any().getBoolean()) {
        throw new IllegalStateException("CPU out of memory (a test fault)");
      }
      return model.predictNoise(x, timesteps, conditioning);
    }

    @Override
    public ModelSpec spec() {
      return model.spec();
    }

    @Override
    public NDManager workspace() {
      return model.workspace();
    }

    @Override
    public NoiseSchedule schedule() {
      return model.schedule();
    }

    @Override
    public SampleShape sampleShape() {
      return model.sampleShape();
    }

    @Override
    public NDArray decode(NDArray samples) {
      return model.decode(samples);
    }

    @Override
    public void close() {
      // The shared bundled model stays loaded.
    }
  }
}
