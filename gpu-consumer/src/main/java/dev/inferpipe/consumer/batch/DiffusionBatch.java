package dev.inferpipe.consumer.batch;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.inferpipe.consumer.diffusion.DiffusionRow;
import dev.inferpipe.consumer.diffusion.DiffusionSampler;
import dev.inferpipe.consumer.diffusion.Sampler;
import dev.inferpipe.consumer.model.DiffusionModel;
import dev.inferpipe.consumer.model.LoadedModel;
import dev.inferpipe.consumer.pipeline.GeneratedImage;
import dev.inferpipe.consumer.pipeline.JobFailedException;
import dev.inferpipe.consumer.pipeline.StepTelemetry;
import dev.inferpipe.consumer.pipeline.Txt2ImgPipeline;
import dev.inferpipe.core.job.ErrorCode;
import dev.inferpipe.core.job.Sha256;
import dev.inferpipe.core.job.Txt2ImgInput;
import io.micrometer.core.instrument.Timer;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One txt2img model's batch: its rows (one {@link DiffusionRow} per job, each on its own
 * schedule, sampler, guidance and seed) and the jobs waiting to join. Each tick drops leavers
 * (cancelled, abandoned), lets waiting jobs join (one text-encoder call for the joiners), runs one
 * UNet call over every row, and decodes the rows that took their last step (one decoder call).
 * A call that fails for the batch is re-run row by row once; a row that fails alone is FAILED.
 */
final class DiffusionBatch extends ModelBatch<DiffusionBatch.Member> {
  private static final Logger log = LoggerFactory.getLogger(DiffusionBatch.class);
  private final Function<String, LoadedModel> models;
  private final Txt2ImgPipeline txt2img;
  /** Set by the first successful join; a model is not looked up per step. */
  private DiffusionModel model;

  /** A job in the batch: its sampling state and its {@code diffusion.sample} span. */
  record Member(BatchJob job, Txt2ImgInput input, DiffusionRow row, Span sample,
      int unknownWords) {}

  DiffusionBatch(String modelId, BatchCalls calls, int maxBatchSize,
      Function<String, LoadedModel> models, Txt2ImgPipeline txt2img) {
    super(modelId, calls, maxBatchSize);
    this.models = models;
    this.txt2img = txt2img;
  }

  @Override
  BatchJob jobOf(Member row) {
    return row.job();
  }

  /** One UNet call over every row; the rows past their last step are decoded together. */
  @Override
  void advance() {
    step();
    List<Member> done = new ArrayList<>();
    for (Iterator<Member> it = rows.iterator(); it.hasNext(); ) {
      Member member = it.next();
      if (member.row().done()) {
        it.remove();
        done.add(member);
      }
    }
    if (!done.isEmpty()) {
      decode(done);
    }
  }

  @Override
  void join(List<BatchJob> joiners) {
    // A load on a cache miss is traced in the first joiner's trace (model.load under its job).
    try (Scope ignored = joiners.get(0).context().makeCurrent()) {
      model = diffusionModel();
    } catch (RuntimeException e) {
      joiners.forEach(job -> job.finish(new BatchOutcome.Failed(e)));
      return;
    }
    long now = System.nanoTime();
    Timer joinWait = calls.joinWait(modelId);
    for (BatchJob job : joiners) {
      joinWait.record(now - job.submittedNanos(), TimeUnit.NANOSECONDS);
    }
    RuntimeException failure = encodeAndStart(model, joiners);
    if (failure == null) {
      return;
    }
    if (joiners.size() == 1) {
      joiners.get(0).finish(new BatchOutcome.Failed(failure));
      return;
    }
    for (BatchJob job : joiners) {
      RuntimeException alone = encodeAndStart(model, List.of(job));
      if (alone != null) {
        job.finish(new BatchOutcome.Failed(alone));
      }
    }
  }

  /** Encodes the joiners' prompts in one call and starts their rows; the failure, or null. */
  private RuntimeException encodeAndStart(DiffusionModel model, List<BatchJob> joiners) {
    List<Txt2ImgInput> inputs = joiners.stream().map(j -> (Txt2ImgInput) j.job().input()).toList();
    BatchCalls.Call call = calls.call("text_encoder", modelId, joiners);
    List<Span> spans = new ArrayList<>();
    for (BatchJob job : joiners) {
      Txt2ImgInput in = (Txt2ImgInput) job.job().input();
      spans.add(call.tag(calls.tracer.spanBuilder("diffusion.encode_prompt").setParent(job.context())
          .setAttribute("prompt_hash", Sha256.hex(in.prompt()))).startSpan());
    }
    List<Member> started = new ArrayList<>();
    try (NDManager m = model.workspace().newSubManager()) {
      DiffusionModel.Prompts prompts = txt2img.encode(model, m, inputs);
      for (Span span : spans) {
        span.setAttribute("text_encoder.rows", (long) prompts.encodedRows());
      }
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
        Span sample = calls.tracer.spanBuilder("diffusion.sample").setParent(job.context())
            .setAttribute("diffusion.sampler", in.sampler())
            .setAttribute("diffusion.steps", (long) in.steps())
            .setAttribute("diffusion.cfg_scale", in.cfgScale())
            .setAttribute("diffusion.seed", in.seed())
            .startSpan();
        started.add(new Member(job, in, row, sample, prompts.unknownWords()[b]));
      }
      rows.addAll(started);
      calls.activeRows.addAndGet(count);
      return null;
    } catch (RuntimeException | OutOfMemoryError e) {
      for (Member member : started) {
        member.row().close();
        member.sample().end();
      }
      spans.forEach(span -> BatchCalls.fail(span, e));
      call.fail(e);
      return Txt2ImgPipeline.classify(e);
    } finally {
      spans.forEach(Span::end);
      call.end();
    }
  }

  private void step() {
    List<Member> current = List.copyOf(rows);
    RuntimeException failure = stepRows(model, current);
    if (failure == null) {
      return;
    }
    if (current.size() == 1) {
      rows.remove(current.get(0));
      end(current.get(0), new BatchOutcome.Failed(failure));
      return;
    }
    log.atWarn().addKeyValue("event", "batch.step_failed").addKeyValue("batch_size", current.size())
        .log("a batched step failed ({}); re-running its rows alone", failure.getMessage());
    for (Member member : current) {
      RuntimeException alone = stepRows(model, List.of(member));
      if (alone != null) {
        rows.remove(member);
        end(member, new BatchOutcome.Failed(alone));
      }
    }
  }

  /** One model call over {@code rows}, each advanced one step; the failure, or null. */
  private RuntimeException stepRows(DiffusionModel model, List<Member> rows) {
    BatchCalls.Call call = calls.call("unet", modelId, rows.stream().map(Member::job).toList());
    List<Span> spans = new ArrayList<>();
    long start = System.nanoTime();
    for (Member member : rows) {
      int index = member.row().stepIndex();
      if (calls.stepTelemetry == StepTelemetry.SPANS) {
        spans.add(call.tag(calls.tracer.spanBuilder("diffusion.step " + index)
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
      RuntimeException failure = Txt2ImgPipeline.asModelFailure(modelId, "unet",
          Txt2ImgPipeline.classify(e));
      spans.forEach(span -> BatchCalls.fail(span, e));
      call.fail(e);
      return failure;
    } finally {
      long nanos = System.nanoTime() - start;
      BatchCalls.record(txt2img.stepTimer(modelId, rows.size()), nanos,
          spans.isEmpty() ? rows.get(0).sample() : spans.get(0));
      spans.forEach(Span::end);
      if (calls.stepTelemetry == StepTelemetry.EVENTS) {
        for (int i = 0; i < rows.size(); i++) {
          rows.get(i).sample().addEvent("diffusion.step", Attributes.builder()
              .put("diffusion.step.index", indices[i]).put("diffusion.timestep", timesteps[i])
              .put("batch.size", rows.size()).put("duration_ms", nanos / 1e6).build());
        }
      }
      call.end();
    }
  }

  private void decode(List<Member> done) {
    RuntimeException failure = decodeRows(model, done);
    if (failure == null) {
      return;
    }
    if (done.size() == 1) {
      end(done.get(0), new BatchOutcome.Failed(failure));
      return;
    }
    for (Member member : done) {
      RuntimeException alone = decodeRows(model, List.of(member));
      if (alone != null) {
        end(member, new BatchOutcome.Failed(alone));
      }
    }
  }

  /** Decodes finished rows in one call and delivers their images; the failure, or null. */
  private RuntimeException decodeRows(DiffusionModel model, List<Member> rows) {
    BatchCalls.Call call = calls.call("vae_decoder", modelId, rows.stream().map(Member::job).toList());
    List<Span> spans = new ArrayList<>();
    for (Member member : rows) {
      spans.add(call.tag(calls.tracer.spanBuilder("diffusion.decode").setParent(member.job().context()))
          .setAttribute("image.format", "png").startSpan());
    }
    List<byte[]> pngs;
    try (NDManager m = model.workspace().newSubManager()) {
      NDArray samples = DiffusionSampler.stack(m,
          rows.stream().map(r -> r.row().sample()).toList(), rows.get(0).row().sample().getShape());
      Txt2ImgInput first = rows.get(0).input();
      pngs = txt2img.decode(model, samples, first.height(), first.width());
    } catch (RuntimeException | OutOfMemoryError e) {
      spans.forEach(span -> BatchCalls.fail(span, e));
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

  private DiffusionModel diffusionModel() {
    LoadedModel loaded = models.apply(modelId);
    if (!(loaded instanceof DiffusionModel diffusion)) {
      throw new JobFailedException(ErrorCode.INVALID_JOB, "model '" + modelId
          + "' cannot run task txt2img");
    }
    return diffusion;
  }

  /** A member leaves its batch: its row is freed, its sample span ended, its outcome delivered. */
  @Override
  void end(Member member, BatchOutcome outcome) {
    member.row().close();
    calls.activeRows.decrementAndGet();
    if (outcome instanceof BatchOutcome.Failed failed) {
      BatchCalls.fail(member.sample(), failed.cause());
    }
    member.sample().setAttribute("diffusion.steps_run", (long) member.row().stepIndex());
    member.sample().end();
    member.job().finish(outcome);
  }
}
