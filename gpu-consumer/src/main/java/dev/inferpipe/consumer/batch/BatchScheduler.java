package dev.inferpipe.consumer.batch;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.inferpipe.consumer.diffusion.DiffusionRow;
import dev.inferpipe.consumer.diffusion.DiffusionSampler;
import dev.inferpipe.consumer.diffusion.Sampler;
import dev.inferpipe.consumer.model.DiffusionModel;
import dev.inferpipe.consumer.model.LoadedModel;
import dev.inferpipe.consumer.model.ModelCache;
import dev.inferpipe.consumer.model.VqaModel;
import dev.inferpipe.consumer.pipeline.GeneratedImage;
import dev.inferpipe.consumer.pipeline.JobFailedException;
import dev.inferpipe.consumer.pipeline.StepTelemetry;
import dev.inferpipe.consumer.pipeline.Txt2ImgPipeline;
import dev.inferpipe.consumer.pipeline.VqaPipeline;
import dev.inferpipe.core.job.ErrorCode;
import dev.inferpipe.core.job.Sha256;
import dev.inferpipe.core.job.Txt2ImgInput;
import dev.inferpipe.core.job.VqaInput;
import dev.inferpipe.core.telemetry.Logging;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs admitted jobs on one thread, batching across jobs at step boundaries (iteration-level, as
 * TGI and vLLM batch tokens): a waiting txt2img job joins its model's running batch before the
 * next step and a finished one leaves after its last, so one model call advances up to
 * {@link BatchSettings#maxBatchSize} rows, each on its own schedule, sampler, guidance and seed.
 * Jobs share a batch when they name the same model (a model has one image size, and every sampler
 * needs the same one noise prediction per step). VQA jobs batch the same way per model: joiners
 * share one encoder call, and every generate step is one decoder call over all rows, each with
 * its own prefix, token limit and time budget.
 *
 * <p>A model call that fails for a batch is re-run row by row once; a row that fails alone is
 * FAILED and the others go on. Cancelled and abandoned jobs leave at the next step boundary.
 * Every job keeps its own spans ({@code diffusion.sample}, one {@code diffusion.step i} per step
 * with {@code batch.size} and {@code batch.id}); a model call over two rows or more is one span
 * in its own trace, linked to every member's job span (OTel's messaging batch convention).
 */
public final class BatchScheduler implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(BatchScheduler.class);
  private static final Duration IDLE_POLL = Duration.ofMillis(100);

  private final BatchSettings settings;
  private final java.util.function.Function<String, LoadedModel> models;
  private final Txt2ImgPipeline txt2img;
  private final VqaPipeline vqa;
  private final Tracer tracer;
  private final StepTelemetry stepTelemetry;
  private final MeterRegistry registry;
  private final LinkedBlockingQueue<BatchJob> arrivals = new LinkedBlockingQueue<>();
  /** Only the scheduler's thread touches these. */
  private final Map<String, Group> groups = new LinkedHashMap<>();
  private final Map<String, VqaGroup> vqaGroups = new LinkedHashMap<>();
  private final AtomicInteger activeRows = new AtomicInteger();
  private final AtomicInteger waitingJobs = new AtomicInteger();
  private final Thread thread;
  private volatile boolean running = true;
  private long calls;

  /** The rows of one model's batch, and the jobs waiting to join it. */
  private static final class Group {
    final String modelId;
    /** Set by the first successful join; a model is not looked up per step. */
    DiffusionModel model;
    final List<Member> rows = new ArrayList<>();
    final Deque<BatchJob> waiting = new ArrayDeque<>();

    Group(String modelId) {
      this.modelId = modelId;
    }
  }

  /** The rows of one VQA model's batch, and the jobs waiting to join it. */
  private static final class VqaGroup {
    final String modelId;
    VqaModel model;
    final List<VqaMember> rows = new ArrayList<>();
    final Deque<BatchJob> waiting = new ArrayDeque<>();

    VqaGroup(String modelId) {
      this.modelId = modelId;
    }
  }

  /**
   * A VQA job in a batch: its own manager (holding its encoder states), its generation, and its
   * {@code vqa.model.generate} span.
   */
  private record VqaMember(BatchJob job, NDManager manager, VqaPipeline.Prepared prepared,
      NDArray context, VqaPipeline.Generation generation, Span generate) {}

  /** A job in a batch: its sampling state and its {@code diffusion.sample} span. */
  private record Member(BatchJob job, Txt2ImgInput input, DiffusionRow row, Span sample,
      int unknownWords) {}

  private BatchScheduler(Builder b) {
    this.settings = b.settings;
    this.models = b.models;
    this.txt2img = b.txt2img;
    this.vqa = b.vqa;
    this.tracer = b.tracer;
    this.stepTelemetry = b.stepTelemetry;
    this.registry = b.registry;
    registry.gauge("inference.batch.active.rows", activeRows);
    registry.gauge("inference.batch.waiting.jobs", waitingJobs);
    this.thread = new Thread(this::run, "gpu-consumer-scheduler");
    thread.setDaemon(true);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Wiring for a scheduler; every part is required. */
  public static final class Builder {
    private BatchSettings settings = BatchSettings.sequential();
    private java.util.function.Function<String, LoadedModel> models;
    private Txt2ImgPipeline txt2img;
    private VqaPipeline vqa;
    private Tracer tracer;
    private StepTelemetry stepTelemetry = StepTelemetry.SPANS;
    private MeterRegistry registry;

    public Builder settings(BatchSettings settings) {
      this.settings = settings;
      return this;
    }

    /** Where models come from by id (a {@link ModelCache}'s get). */
    public Builder models(java.util.function.Function<String, LoadedModel> models) {
      this.models = models;
      return this;
    }

    public Builder pipelines(Txt2ImgPipeline txt2img, VqaPipeline vqa) {
      this.txt2img = txt2img;
      this.vqa = vqa;
      return this;
    }

    public Builder telemetry(Tracer tracer, StepTelemetry stepTelemetry, MeterRegistry registry) {
      this.tracer = tracer;
      this.stepTelemetry = stepTelemetry;
      this.registry = registry;
      return this;
    }

    /** Builds and starts the scheduler's thread. */
    public BatchScheduler start() {
      BatchScheduler scheduler = new BatchScheduler(this);
      scheduler.thread.start();
      return scheduler;
    }
  }

  /** Hands a job to the scheduler; its outcome arrives through {@link BatchJob}'s callback. */
  public void submit(BatchJob job) {
    if (!running) {
      job.finish(new BatchOutcome.Abandoned());
      return;
    }
    waitingJobs.incrementAndGet();
    arrivals.add(job);
  }

  /** Rows in the running batches now (the active-rows gauge). */
  public int activeRows() {
    return activeRows.get();
  }

  private void run() {
    Logging.tagThread("gpu-consumer");
    try {
      while (running || busy()) {
        take();
        for (Iterator<Group> it = groups.values().iterator(); it.hasNext(); ) {
          Group group = it.next();
          tick(group);
          if (group.rows.isEmpty() && group.waiting.isEmpty()) {
            it.remove();
          }
        }
        for (Iterator<VqaGroup> it = vqaGroups.values().iterator(); it.hasNext(); ) {
          VqaGroup group = it.next();
          tickVqa(group);
          if (group.rows.isEmpty() && group.waiting.isEmpty()) {
            it.remove();
          }
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException | Error e) {
      log.atError().addKeyValue("event", "scheduler.failed").setCause(e)
          .log("the batch scheduler stopped: {}", e.toString());
    } finally {
      abandonAll();
    }
  }

  private boolean busy() {
    return groups.values().stream().anyMatch(g -> !g.rows.isEmpty())
        || vqaGroups.values().stream().anyMatch(g -> !g.rows.isEmpty());
  }

  /**
   * Moves arrivals to their groups. Blocks only when nothing runs; a lone job then waits up to
   * {@code maxQueueDelay} for company.
   */
  private void take() throws InterruptedException {
    List<BatchJob> batch = new ArrayList<>();
    boolean idle = !busy() && groups.values().stream().allMatch(g -> g.waiting.isEmpty())
        && vqaGroups.values().stream().allMatch(g -> g.waiting.isEmpty());
    if (idle) {
      BatchJob first = arrivals.poll(IDLE_POLL.toMillis(), TimeUnit.MILLISECONDS);
      if (first == null) {
        return;
      }
      batch.add(first);
      long deadline = System.nanoTime() + settings.maxQueueDelay().toNanos();
      while (batch.size() < settings.maxBatchSize() && running) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          break;
        }
        BatchJob more = arrivals.poll(left, TimeUnit.NANOSECONDS);
        if (more == null) {
          break;
        }
        batch.add(more);
      }
    }
    arrivals.drainTo(batch);
    for (BatchJob job : batch) {
      if (!running) {
        waitingJobs.decrementAndGet();
        job.finish(new BatchOutcome.Abandoned());
      } else if (job.job().input() instanceof Txt2ImgInput) {
        groups.computeIfAbsent(job.job().modelId(), Group::new).waiting.add(job);
      } else {
        vqaGroups.computeIfAbsent(job.job().modelId(), VqaGroup::new).waiting.add(job);
      }
    }
  }

  /** One iteration for a model: drop leavers, let waiting jobs join, step, finish the done. */
  private void tick(Group group) {
    for (Iterator<Member> it = group.rows.iterator(); it.hasNext(); ) {
      Member member = it.next();
      BatchOutcome stop = stopped(member.job());
      if (stop != null) {
        it.remove();
        end(member, stop);
      }
    }
    if (!running) {
      abandonWaiting(group.waiting);
    }
    List<BatchJob> joiners = joiners(group.waiting, group.rows.size());
    if (!joiners.isEmpty()) {
      join(group, joiners);
    }
    if (group.rows.isEmpty()) {
      return;
    }
    step(group);
    List<Member> done = new ArrayList<>();
    for (Iterator<Member> it = group.rows.iterator(); it.hasNext(); ) {
      Member member = it.next();
      if (member.row().done()) {
        it.remove();
        done.add(member);
      }
    }
    if (!done.isEmpty()) {
      decode(group, done);
    }
  }

  private static BatchOutcome stopped(BatchJob job) {
    if (job.isAbandoned()) {
      return new BatchOutcome.Abandoned();
    }
    if (job.isCancelled()) {
      return new BatchOutcome.Cancelled();
    }
    return null;
  }

  private void join(Group group, List<BatchJob> joiners) {
    DiffusionModel model;
    // A load on a cache miss is traced in the first joiner's trace (model.load under its job).
    try (Scope ignored = joiners.get(0).context().makeCurrent()) {
      model = diffusionModel(group.modelId);
      group.model = model;
    } catch (RuntimeException e) {
      joiners.forEach(job -> job.finish(new BatchOutcome.Failed(e)));
      return;
    }
    long now = System.nanoTime();
    Timer joinWait = Timer.builder("inference.batch.join.wait")
        .description("time from admission until the job's row joins a batch")
        .tag("model", group.modelId).publishPercentileHistogram().register(registry);
    for (BatchJob job : joiners) {
      joinWait.record(now - job.submittedNanos(), TimeUnit.NANOSECONDS);
    }
    RuntimeException failure = encodeAndStart(group, model, joiners);
    if (failure == null) {
      return;
    }
    if (joiners.size() == 1) {
      joiners.get(0).finish(new BatchOutcome.Failed(failure));
      return;
    }
    for (BatchJob job : joiners) {
      RuntimeException alone = encodeAndStart(group, model, List.of(job));
      if (alone != null) {
        job.finish(new BatchOutcome.Failed(alone));
      }
    }
  }

  /** Encodes the joiners' prompts in one call and starts their rows; the failure, or null. */
  private RuntimeException encodeAndStart(Group group, DiffusionModel model,
      List<BatchJob> joiners) {
    List<Txt2ImgInput> inputs = joiners.stream().map(j -> (Txt2ImgInput) j.job().input()).toList();
    Call call = call("text_encoder", group.modelId, joiners);
    List<Span> spans = new ArrayList<>();
    for (BatchJob job : joiners) {
      Txt2ImgInput in = (Txt2ImgInput) job.job().input();
      spans.add(call.tag(tracer.spanBuilder("diffusion.encode_prompt").setParent(job.context())
          .setAttribute("prompt_hash", Sha256.hex(in.prompt()))).startSpan());
    }
    List<Member> started = new ArrayList<>();
    try (NDManager m = model.workspace().newSubManager()) {
      DiffusionModel.Prompts prompts = txt2img.encode(model, m, inputs);
      int count = joiners.size();
      DiffusionModel.SampleShape shape = model.sampleShape();
      for (int b = 0; b < count; b++) {
        BatchJob job = joiners.get(b);
        Txt2ImgInput in = inputs.get(b);
        NDArray pair = prompts.conditioning().get(new NDIndex(b + ":" + (b + 1))).concat(
            prompts.conditioning().get(new NDIndex((count + b) + ":" + (count + b + 1))), 0);
        DiffusionRow row = DiffusionRow.start(model.workspace(), model.schedule(),
            Sampler.parse(in.sampler()), in.steps(), in.cfgScale().floatValue(), in.seed(), pair,
            shape.channels(), shape.height(), shape.width());
        spans.get(b).setAttribute("prompt.unknown_words", (long) prompts.unknownWords()[b]);
        Span sample = tracer.spanBuilder("diffusion.sample").setParent(job.context())
            .setAttribute("diffusion.sampler", in.sampler())
            .setAttribute("diffusion.steps", (long) in.steps())
            .setAttribute("diffusion.cfg_scale", in.cfgScale())
            .setAttribute("diffusion.seed", in.seed())
            .startSpan();
        started.add(new Member(job, in, row, sample, prompts.unknownWords()[b]));
      }
      group.rows.addAll(started);
      activeRows.addAndGet(count);
      return null;
    } catch (RuntimeException | OutOfMemoryError e) {
      for (Member member : started) {
        member.row().close();
        member.sample().end();
      }
      spans.forEach(span -> fail(span, e));
      call.fail(e);
      return Txt2ImgPipeline.classify(e);
    } finally {
      spans.forEach(Span::end);
      call.end();
    }
  }

  private void step(Group group) {
    DiffusionModel model = group.model;
    List<Member> rows = List.copyOf(group.rows);
    RuntimeException failure = stepRows(group, model, rows);
    if (failure == null) {
      return;
    }
    if (rows.size() == 1) {
      group.rows.remove(rows.get(0));
      end(rows.get(0), new BatchOutcome.Failed(failure));
      return;
    }
    log.atWarn().addKeyValue("event", "batch.step_failed").addKeyValue("batch_size", rows.size())
        .log("a batched step failed ({}); re-running its rows alone", failure.getMessage());
    for (Member member : rows) {
      RuntimeException alone = stepRows(group, model, List.of(member));
      if (alone != null) {
        group.rows.remove(member);
        end(member, new BatchOutcome.Failed(alone));
      }
    }
  }

  /** One model call over {@code rows}, each advanced one step; the failure, or null. */
  private RuntimeException stepRows(Group group, DiffusionModel model, List<Member> rows) {
    Call call = call("unet", group.modelId, rows.stream().map(Member::job).toList());
    List<Span> spans = new ArrayList<>();
    long start = System.nanoTime();
    for (Member member : rows) {
      int index = member.row().stepIndex();
      if (stepTelemetry == StepTelemetry.SPANS) {
        spans.add(call.tag(tracer.spanBuilder("diffusion.step " + index)
            .setParent(Context.current().with(member.sample()))
            .setAttribute("diffusion.step.index", (long) index)
            .setAttribute("diffusion.timestep", (long) member.row().timestep())).startSpan());
      }
    }
    int[] indices = rows.stream().mapToInt(m -> m.row().stepIndex()).toArray();
    int[] timesteps = rows.stream().mapToInt(m -> m.row().timestep()).toArray();
    try {
      new DiffusionSampler(model, model.schedule()).step(model.workspace(),
          rows.stream().map(Member::row).toList());
      return null;
    } catch (RuntimeException | OutOfMemoryError e) {
      RuntimeException failure = Txt2ImgPipeline.asModelFailure(group.modelId, "unet",
          Txt2ImgPipeline.classify(e));
      spans.forEach(span -> fail(span, e));
      call.fail(e);
      return failure;
    } finally {
      long nanos = System.nanoTime() - start;
      txt2img.stepTimer(group.modelId, rows.size()).record(nanos, TimeUnit.NANOSECONDS);
      spans.forEach(Span::end);
      if (stepTelemetry == StepTelemetry.EVENTS) {
        for (int i = 0; i < rows.size(); i++) {
          rows.get(i).sample().addEvent("diffusion.step", Attributes.builder()
              .put("diffusion.step.index", indices[i]).put("diffusion.timestep", timesteps[i])
              .put("batch.size", rows.size()).put("duration_ms", nanos / 1e6).build());
        }
      }
      call.end();
    }
  }

  private void decode(Group group, List<Member> done) {
    DiffusionModel model = group.model;
    RuntimeException failure = decodeRows(group, model, done);
    if (failure == null) {
      return;
    }
    if (done.size() == 1) {
      end(done.get(0), new BatchOutcome.Failed(failure));
      return;
    }
    for (Member member : done) {
      RuntimeException alone = decodeRows(group, model, List.of(member));
      if (alone != null) {
        end(member, new BatchOutcome.Failed(alone));
      }
    }
  }

  /** Decodes finished rows in one call and delivers their images; the failure, or null. */
  private RuntimeException decodeRows(Group group, DiffusionModel model, List<Member> rows) {
    Call call = call("vae_decoder", group.modelId, rows.stream().map(Member::job).toList());
    List<Span> spans = new ArrayList<>();
    for (Member member : rows) {
      spans.add(call.tag(tracer.spanBuilder("diffusion.decode").setParent(member.job().context()))
          .setAttribute("image.format", "png").startSpan());
    }
    List<byte[]> pngs;
    try (NDManager m = model.workspace().newSubManager()) {
      NDArray samples = DiffusionSampler.stack(m,
          rows.stream().map(r -> r.row().sample()).toList(), rows.get(0).row().sample().getShape());
      Txt2ImgInput first = rows.get(0).input();
      pngs = txt2img.decode(model, samples, first.height(), first.width());
    } catch (RuntimeException | OutOfMemoryError e) {
      spans.forEach(span -> fail(span, e));
      call.fail(e);
      spans.forEach(Span::end);
      call.end();
      return Txt2ImgPipeline.classify(e);
    }
    for (int i = 0; i < rows.size(); i++) {
      spans.get(i).setAttribute("image.bytes", (long) pngs.get(i).length);
      spans.get(i).end();
    }
    call.end();
    for (int i = 0; i < rows.size(); i++) {
      Member member = rows.get(i);
      end(member, new BatchOutcome.Image(new GeneratedImage(pngs.get(i), member.unknownWords())));
    }
    return null;
  }

  /** One iteration for a VQA model: drop leavers, let waiting jobs join, one decoder step. */
  private void tickVqa(VqaGroup group) {
    for (Iterator<VqaMember> it = group.rows.iterator(); it.hasNext(); ) {
      VqaMember member = it.next();
      BatchOutcome stop = stopped(member.job());
      if (stop != null) {
        it.remove();
        endVqa(member, stop);
      }
    }
    if (!running) {
      abandonWaiting(group.waiting);
    }
    List<BatchJob> joiners = joiners(group.waiting, group.rows.size());
    if (!joiners.isEmpty()) {
      joinVqa(group, joiners);
    }
    // A row out of time answers with what it has (the documented fallback).
    for (VqaMember member : List.copyOf(group.rows)) {
      if (member.generation().outOfTime()) {
        group.rows.remove(member);
        answer(group, member);
      }
    }
    if (group.rows.isEmpty()) {
      return;
    }
    List<VqaMember> rows = List.copyOf(group.rows);
    RuntimeException failure = vqaStep(group, rows);
    if (failure != null && rows.size() == 1) {
      group.rows.remove(rows.get(0));
      endVqa(rows.get(0), new BatchOutcome.Failed(failure));
    } else if (failure != null) {
      for (VqaMember member : rows) {
        RuntimeException alone = vqaStep(group, List.of(member));
        if (alone != null) {
          group.rows.remove(member);
          endVqa(member, new BatchOutcome.Failed(alone));
        }
      }
    }
    for (VqaMember member : List.copyOf(group.rows)) {
      if (member.generation().done()) {
        group.rows.remove(member);
        answer(group, member);
      }
    }
  }

  /** Prepares each joiner (image, question: failures are the job's), then one encoder call. */
  private void joinVqa(VqaGroup group, List<BatchJob> joiners) {
    try (Scope ignored = joiners.get(0).context().makeCurrent()) {
      LoadedModel model = models.apply(group.modelId);
      if (!(model instanceof VqaModel vqaModel)) {
        throw new JobFailedException(ErrorCode.INVALID_JOB, "model '" + group.modelId
            + "' cannot run task vqa");
      }
      group.model = vqaModel;
    } catch (RuntimeException e) {
      joiners.forEach(job -> job.finish(new BatchOutcome.Failed(e)));
      return;
    }
    long now = System.nanoTime();
    Timer joinWait = Timer.builder("inference.batch.join.wait")
        .description("time from admission until the job's row joins a batch")
        .tag("model", group.modelId).publishPercentileHistogram().register(registry);
    List<BatchJob> ready = new ArrayList<>();
    List<NDManager> managers = new ArrayList<>();
    List<VqaPipeline.Prepared> prepared = new ArrayList<>();
    for (BatchJob job : joiners) {
      joinWait.record(now - job.submittedNanos(), TimeUnit.NANOSECONDS);
      NDManager manager = group.model.workspace().newSubManager();
      try (Scope ignored = job.context().makeCurrent()) {
        prepared.add(vqa.prepare(group.model, (VqaInput) job.job().input(), job.tenant(), manager));
        ready.add(job);
        managers.add(manager);
      } catch (RuntimeException | OutOfMemoryError e) {
        manager.close();
        job.finish(new BatchOutcome.Failed(Txt2ImgPipeline.classify(e)));
      }
    }
    if (ready.isEmpty()) {
      return;
    }
    RuntimeException failure = encodeVqa(group, ready, managers, prepared);
    if (failure == null) {
      return;
    }
    if (ready.size() == 1) {
      managers.get(0).close();
      ready.get(0).finish(new BatchOutcome.Failed(failure));
      return;
    }
    for (int i = 0; i < ready.size(); i++) {
      RuntimeException alone = encodeVqa(group, List.of(ready.get(i)), List.of(managers.get(i)),
          List.of(prepared.get(i)));
      if (alone != null) {
        managers.get(i).close();
        ready.get(i).finish(new BatchOutcome.Failed(alone));
      }
    }
  }

  /** One encoder call; each job's states move into its own manager and it starts generating. */
  private RuntimeException encodeVqa(VqaGroup group, List<BatchJob> jobs,
      List<NDManager> managers, List<VqaPipeline.Prepared> prepared) {
    Call call = call("encoder", group.modelId, jobs);
    List<Span> spans = new ArrayList<>();
    for (BatchJob job : jobs) {
      spans.add(call.tag(tracer.spanBuilder("vqa.model.encode").setParent(job.context()))
          .startSpan());
    }
    try {
      NDArray states = vqa.encode(group.model, prepared);
      for (int b = 0; b < jobs.size(); b++) {
        NDArray context = states.get(new NDIndex(b + ":" + (b + 1)));
        context.attach(managers.get(b));
        BatchJob job = jobs.get(b);
        VqaPipeline.Generation generation = vqa.start(group.model, (VqaInput) job.job().input());
        Span generate = tracer.spanBuilder("vqa.model.generate").setParent(job.context())
            .setAttribute("vqa.max_new_tokens", (long) generation.limit()).startSpan();
        group.rows.add(new VqaMember(job, managers.get(b), prepared.get(b), context, generation,
            generate));
        activeRows.incrementAndGet();
      }
      return null;
    } catch (RuntimeException | OutOfMemoryError e) {
      spans.forEach(span -> fail(span, e));
      call.fail(e);
      return Txt2ImgPipeline.classify(e);
    } finally {
      spans.forEach(Span::end);
      call.end();
    }
  }

  /** One decoder call over {@code rows}, each advanced one token; the failure, or null. */
  private RuntimeException vqaStep(VqaGroup group, List<VqaMember> rows) {
    Call call = call("decoder", group.modelId, rows.stream().map(VqaMember::job).toList());
    List<Span> spans = new ArrayList<>();
    if (stepTelemetry == StepTelemetry.SPANS) {
      for (VqaMember member : rows) {
        int index = member.generation().tokens().size();
        spans.add(call.tag(tracer.spanBuilder("vqa.generate.step " + index)
            .setParent(Context.current().with(member.generate()))
            .setAttribute("vqa.step.index", (long) index)).startSpan());
      }
    }
    long start = System.nanoTime();
    try (NDManager step = group.model.workspace().newSubManager()) {
      NDArray contexts = DiffusionSampler.stack(step,
          rows.stream().map(VqaMember::context).toList(), rows.get(0).context().getShape());
      vqa.step(group.model, step, contexts, rows.stream().map(VqaMember::generation).toList());
      for (int i = 0; i < spans.size(); i++) {
        spans.get(i).setAttribute("vqa.token",
            group.model.tokenText(rows.get(i).generation().lastToken()));
      }
      return null;
    } catch (RuntimeException | OutOfMemoryError e) {
      spans.forEach(span -> fail(span, e));
      call.fail(e);
      return Txt2ImgPipeline.classify(e);
    } finally {
      long nanos = System.nanoTime() - start;
      vqa.stepTimer(group.modelId, rows.size()).record(nanos, TimeUnit.NANOSECONDS);
      spans.forEach(Span::end);
      if (stepTelemetry == StepTelemetry.EVENTS) {
        for (VqaMember member : rows) {
          member.generate().addEvent("vqa.generate.step", Attributes.builder()
              .put("vqa.step.index", member.generation().tokens().size())
              .put("batch.size", rows.size()).put("duration_ms", nanos / 1e6).build());
        }
      }
      call.end();
    }
  }

  /** A finished generation: its answer (or TIMEOUT) is the job's outcome. */
  private void answer(VqaGroup group, VqaMember member) {
    VqaPipeline.Generation generation = member.generation();
    member.generate().setAttribute("vqa.tokens", (long) generation.tokens().size());
    member.generate().setAttribute("vqa.budget_exceeded", generation.budgetExceeded());
    BatchOutcome outcome;
    try (Scope ignored = member.job().context().makeCurrent()) {
      outcome = new BatchOutcome.Answer(vqa.traced("vqa.decode.answer",
          span -> vqa.answer(group.model, generation, member.prepared(), span)));
    } catch (RuntimeException e) {
      outcome = new BatchOutcome.Failed(e);
    }
    endVqa(member, outcome);
  }

  private void endVqa(VqaMember member, BatchOutcome outcome) {
    member.manager().close();
    activeRows.decrementAndGet();
    if (outcome instanceof BatchOutcome.Failed failed) {
      fail(member.generate(), failed.cause());
    }
    member.generate().end();
    member.job().finish(outcome);
  }

  private DiffusionModel diffusionModel(String modelId) {
    LoadedModel model = models.apply(modelId);
    if (!(model instanceof DiffusionModel diffusion)) {
      throw new JobFailedException(ErrorCode.INVALID_JOB, "model '" + modelId
          + "' cannot run task txt2img");
    }
    return diffusion;
  }

  /** A member leaves its batch: its row is freed, its sample span ended, its outcome delivered. */
  private void end(Member member, BatchOutcome outcome) {
    member.row().close();
    activeRows.decrementAndGet();
    if (outcome instanceof BatchOutcome.Failed failed) {
      fail(member.sample(), failed.cause());
    }
    member.sample().setAttribute("diffusion.steps_run", (long) member.row().stepIndex());
    member.sample().end();
    member.job().finish(outcome);
  }

  private void abandonWaiting(Deque<BatchJob> waiting) {
    while (!waiting.isEmpty()) {
      waitingJobs.decrementAndGet();
      waiting.poll().finish(new BatchOutcome.Abandoned());
    }
  }

  /**
   * Takes waiting jobs, in arrival order, until the batch holds {@code maxBatchSize} rows; one
   * cancelled or abandoned meanwhile gets its outcome instead of a row.
   */
  private List<BatchJob> joiners(Deque<BatchJob> waiting, int rows) {
    List<BatchJob> joiners = new ArrayList<>();
    while (rows + joiners.size() < settings.maxBatchSize() && !waiting.isEmpty()) {
      BatchJob job = waiting.poll();
      waitingJobs.decrementAndGet();
      BatchOutcome stop = stopped(job);
      if (stop != null) {
        job.finish(stop);
      } else {
        joiners.add(job);
      }
    }
    return joiners;
  }

  private void abandonAll() {
    for (Group group : groups.values()) {
      for (Member member : group.rows) {
        end(member, new BatchOutcome.Abandoned());
      }
      group.rows.clear();
      abandonWaiting(group.waiting);
    }
    groups.clear();
    for (VqaGroup group : vqaGroups.values()) {
      for (VqaMember member : group.rows) {
        endVqa(member, new BatchOutcome.Abandoned());
      }
      group.rows.clear();
      abandonWaiting(group.waiting);
    }
    vqaGroups.clear();
    List<BatchJob> left = new ArrayList<>();
    arrivals.drainTo(left);
    left.forEach(job -> job.finish(new BatchOutcome.Abandoned()));
  }

  private static void fail(Span span, Throwable e) {
    span.recordException(e);
    span.setStatus(StatusCode.ERROR, String.valueOf(e.getMessage()));
  }

  /**
   * One model call: its batch-size sample, and, over two rows or more, its own span in its own
   * trace linked to every member's job span; {@code batch.id} names that trace.
   */
  private Call call(String component, String modelId, List<BatchJob> members) {
    DistributionSummary.builder("inference.batch.size")
        .description("rows per model call").baseUnit("rows")
        .tags("model", modelId, "call", component)
        .serviceLevelObjectives(1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64)
        .register(registry).record(members.size());
    calls++;
    Span span = null;
    if (members.size() > 1 && stepTelemetry != StepTelemetry.OFF) {
      SpanBuilder builder = tracer.spanBuilder(component + " batch").setNoParent()
          .setAttribute("batch.size", (long) members.size())
          .setAttribute("model.id", modelId);
      for (BatchJob member : members) {
        builder.addLink(member.spanContext());
      }
      span = builder.startSpan();
    }
    String id = span != null ? span.getSpanContext().getTraceId() : Long.toString(calls);
    return new Call(span, id, members.size());
  }

  private record Call(Span span, String id, int size) {
    SpanBuilder tag(SpanBuilder builder) {
      return builder.setAttribute("batch.size", (long) size).setAttribute("batch.id", id);
    }

    void fail(Throwable e) {
      if (span != null) {
        BatchScheduler.fail(span, e);
      }
    }

    void end() {
      if (span != null) {
        span.end();
      }
    }
  }

  /**
   * Stops taking jobs: running rows finish (up to {@code timeout}), waiting jobs are abandoned
   * (their records are not committed, so another replica runs them).
   */
  public void shutdown(Duration timeout) {
    running = false;
    try {
      thread.join(timeout.toMillis());
      if (thread.isAlive()) {
        thread.interrupt();
        thread.join(5_000);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    shutdown(Duration.ofSeconds(60));
  }
}
