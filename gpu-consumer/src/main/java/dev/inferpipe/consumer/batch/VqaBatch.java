package dev.inferpipe.consumer.batch;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.inferpipe.consumer.diffusion.DiffusionSampler;
import dev.inferpipe.consumer.model.LoadedModel;
import dev.inferpipe.consumer.model.VqaModel;
import dev.inferpipe.consumer.pipeline.JobFailedException;
import dev.inferpipe.consumer.pipeline.StepTelemetry;
import dev.inferpipe.consumer.pipeline.Txt2ImgPipeline;
import dev.inferpipe.consumer.pipeline.VqaPipeline;
import dev.inferpipe.core.job.ErrorCode;
import dev.inferpipe.core.job.VqaInput;
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

/**
 * One VQA model's batch: its rows and the jobs waiting to join. Each joiner's image and question
 * are prepared on their own (a bad image fails only that job); the joiners then share one encoder
 * call, and each tick is one decoder call over every row, each with its own prefix, token limit
 * and time budget. A call that fails for the batch is re-run row by row once.
 */
final class VqaBatch extends ModelBatch<VqaBatch.VqaMember> {
  private final Function<String, LoadedModel> models;
  private final VqaPipeline vqa;
  private VqaModel model;

  /**
   * A job in the batch: its own manager (holding its encoder states), its generation, and its
   * {@code vqa.model.generate} span.
   */
  record VqaMember(BatchJob job, NDManager manager, VqaPipeline.Prepared prepared,
      NDArray context, VqaPipeline.Generation generation, Span generate) {}

  VqaBatch(String modelId, BatchCalls calls, int maxBatchSize,
      Function<String, LoadedModel> models, VqaPipeline vqa) {
    super(modelId, calls, maxBatchSize);
    this.models = models;
    this.vqa = vqa;
  }

  @Override
  BatchJob jobOf(VqaMember row) {
    return row.job();
  }

  /** One decoder call over every row; rows out of time or done answer. */
  @Override
  void advance() {
    // A row out of time answers with what it has (the documented fallback).
    for (VqaMember member : List.copyOf(rows)) {
      if (member.generation().outOfTime()) {
        rows.remove(member);
        answer(member);
      }
    }
    if (rows.isEmpty()) {
      return;
    }
    List<VqaMember> current = List.copyOf(rows);
    RuntimeException failure = step(current);
    if (failure != null && current.size() == 1) {
      rows.remove(current.get(0));
      end(current.get(0), new BatchOutcome.Failed(failure));
    } else if (failure != null) {
      for (VqaMember member : current) {
        RuntimeException alone = step(List.of(member));
        if (alone != null) {
          rows.remove(member);
          end(member, new BatchOutcome.Failed(alone));
        }
      }
    }
    for (VqaMember member : List.copyOf(rows)) {
      if (member.generation().done()) {
        rows.remove(member);
        answer(member);
      }
    }
  }

  /** Prepares each joiner (image, question: failures are the job's), then one encoder call. */
  @Override
  void join(List<BatchJob> joiners) {
    try (Scope ignored = joiners.get(0).context().makeCurrent()) {
      LoadedModel loaded = models.apply(modelId);
      if (!(loaded instanceof VqaModel vqaModel)) {
        throw new JobFailedException(ErrorCode.INVALID_JOB, "model '" + modelId
            + "' cannot run task vqa");
      }
      model = vqaModel;
    } catch (RuntimeException e) {
      joiners.forEach(job -> job.finish(new BatchOutcome.Failed(e)));
      return;
    }
    long now = System.nanoTime();
    Timer joinWait = calls.joinWait(modelId);
    List<BatchJob> ready = new ArrayList<>();
    List<NDManager> managers = new ArrayList<>();
    List<VqaPipeline.Prepared> prepared = new ArrayList<>();
    for (BatchJob job : joiners) {
      joinWait.record(now - job.submittedNanos(), TimeUnit.NANOSECONDS);
      NDManager manager = model.workspace().newSubManager();
      try (Scope ignored = job.context().makeCurrent()) {
        prepared.add(vqa.prepare(model, (VqaInput) job.job().input(), job.tenant(), manager));
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
    RuntimeException failure = encode(ready, managers, prepared);
    if (failure == null) {
      return;
    }
    if (ready.size() == 1) {
      managers.get(0).close();
      ready.get(0).finish(new BatchOutcome.Failed(failure));
      return;
    }
    for (int i = 0; i < ready.size(); i++) {
      RuntimeException alone = encode(List.of(ready.get(i)), List.of(managers.get(i)),
          List.of(prepared.get(i)));
      if (alone != null) {
        managers.get(i).close();
        ready.get(i).finish(new BatchOutcome.Failed(alone));
      }
    }
  }

  /** One encoder call; each job's states move into its own manager and it starts generating. */
  private RuntimeException encode(List<BatchJob> jobs, List<NDManager> managers,
      List<VqaPipeline.Prepared> prepared) {
    BatchCalls.Call call = calls.call("encoder", modelId, jobs);
    List<Span> spans = new ArrayList<>();
    for (BatchJob job : jobs) {
      spans.add(call.tag(calls.tracer.spanBuilder("vqa.model.encode").setParent(job.context()))
          .startSpan());
    }
    try {
      NDArray states = vqa.encode(model, prepared);
      for (int b = 0; b < jobs.size(); b++) {
        NDArray context = states.get(new NDIndex(b + ":" + (b + 1)));
        context.attach(managers.get(b));
        BatchJob job = jobs.get(b);
        VqaPipeline.Generation generation = vqa.start(model, (VqaInput) job.job().input());
        Span generate = calls.tracer.spanBuilder("vqa.model.generate").setParent(job.context())
            .setAttribute("vqa.max_new_tokens", (long) generation.limit()).startSpan();
        rows.add(new VqaMember(job, managers.get(b), prepared.get(b), context, generation,
            generate));
        calls.activeRows.incrementAndGet();
      }
      return null;
    } catch (RuntimeException | OutOfMemoryError e) {
      spans.forEach(span -> BatchCalls.fail(span, e));
      call.fail(e);
      return Txt2ImgPipeline.classify(e);
    } finally {
      spans.forEach(Span::end);
      call.end();
    }
  }

  /** One decoder call over {@code rows}, each advanced one token; the failure, or null. */
  private RuntimeException step(List<VqaMember> rows) {
    BatchCalls.Call call = calls.call("decoder", modelId, rows.stream().map(VqaMember::job).toList());
    List<Span> spans = new ArrayList<>();
    if (calls.stepTelemetry == StepTelemetry.SPANS) {
      for (VqaMember member : rows) {
        int index = member.generation().tokens().size();
        spans.add(call.tag(calls.tracer.spanBuilder("vqa.generate.step " + index)
            .setParent(Context.current().with(member.generate()))
            .setAttribute("vqa.step.index", (long) index)).startSpan());
      }
    }
    long start = System.nanoTime();
    try (NDManager step = model.workspace().newSubManager()) {
      NDArray contexts = DiffusionSampler.stack(step,
          rows.stream().map(VqaMember::context).toList(), rows.get(0).context().getShape());
      vqa.step(model, step, contexts, rows.stream().map(VqaMember::generation).toList());
      for (int i = 0; i < spans.size(); i++) {
        spans.get(i).setAttribute("vqa.token",
            model.tokenText(rows.get(i).generation().lastToken()));
      }
      return null;
    } catch (RuntimeException | OutOfMemoryError e) {
      spans.forEach(span -> BatchCalls.fail(span, e));
      call.fail(e);
      return Txt2ImgPipeline.classify(e);
    } finally {
      long nanos = System.nanoTime() - start;
      BatchCalls.record(vqa.stepTimer(modelId, rows.size()), nanos,
          spans.isEmpty() ? rows.get(0).generate() : spans.get(0));
      spans.forEach(Span::end);
      if (calls.stepTelemetry == StepTelemetry.EVENTS) {
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
  private void answer(VqaMember member) {
    VqaPipeline.Generation generation = member.generation();
    member.generate().setAttribute("vqa.tokens", (long) generation.tokens().size());
    member.generate().setAttribute("vqa.budget_exceeded", generation.budgetExceeded());
    BatchOutcome outcome;
    try (Scope ignored = member.job().context().makeCurrent()) {
      outcome = new BatchOutcome.Answer(vqa.traced("vqa.decode.answer",
          span -> vqa.answer(model, generation, member.prepared(), span)));
    } catch (RuntimeException e) {
      outcome = new BatchOutcome.Failed(e);
    }
    end(member, outcome);
  }

  @Override
  void end(VqaMember member, BatchOutcome outcome) {
    member.manager().close();
    calls.activeRows.decrementAndGet();
    if (outcome instanceof BatchOutcome.Failed failed) {
      BatchCalls.fail(member.generate(), failed.cause());
    }
    member.generate().end();
    member.job().finish(outcome);
  }
}
