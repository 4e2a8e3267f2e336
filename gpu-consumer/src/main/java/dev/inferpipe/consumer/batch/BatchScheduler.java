package dev.inferpipe.consumer.batch;

import dev.inferpipe.consumer.model.LoadedModel;
import dev.inferpipe.consumer.model.ModelCache;
import dev.inferpipe.consumer.pipeline.StepTelemetry;
import dev.inferpipe.consumer.pipeline.Txt2ImgPipeline;
import dev.inferpipe.consumer.pipeline.VqaPipeline;
import dev.inferpipe.core.job.Txt2ImgInput;
import dev.inferpipe.core.telemetry.Logging;
import io.micrometer.core.instrument.MeterRegistry;
import io.opentelemetry.api.trace.Tracer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
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
 *
 * <p>The scheduler routes jobs and runs the loop; each model's batch is a {@link DiffusionBatch}
 * or a {@link VqaBatch}, and {@link BatchCalls} holds what they share (spans, meters).
 */
public final class BatchScheduler implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(BatchScheduler.class);
  private static final Duration IDLE_POLL = Duration.ofMillis(100);

  private final BatchSettings settings;
  private final Function<String, LoadedModel> models;
  private final Txt2ImgPipeline txt2img;
  private final VqaPipeline vqa;
  private final LinkedBlockingQueue<BatchJob> arrivals = new LinkedBlockingQueue<>();
  /** Each model's batch, by task and model; only the scheduler's thread touches it. */
  private final Map<String, ModelBatch<?>> batches = new LinkedHashMap<>();
  private final BatchCalls calls;
  private final Thread thread;
  private volatile boolean running = true;

  private BatchScheduler(Builder b) {
    this.settings = b.settings;
    this.models = b.models;
    this.txt2img = b.txt2img;
    this.vqa = b.vqa;
    this.calls = new BatchCalls(b.tracer, b.stepTelemetry, b.registry);
    this.thread = new Thread(this::run, "gpu-consumer-scheduler");
    thread.setDaemon(true);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Wiring for a scheduler; every part is required. */
  public static final class Builder {
    private BatchSettings settings = BatchSettings.sequential();
    private Function<String, LoadedModel> models;
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
    public Builder models(Function<String, LoadedModel> models) {
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
    calls.waitingJobs.incrementAndGet();
    arrivals.add(job);
  }

  private void run() {
    Logging.tagThread("gpu-consumer");
    try {
      while (running || busy()) {
        take();
        for (Iterator<ModelBatch<?>> it = batches.values().iterator(); it.hasNext(); ) {
          ModelBatch<?> batch = it.next();
          batch.tick(running);
          if (batch.isIdle()) {
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
    return batches.values().stream().anyMatch(ModelBatch::hasRows);
  }


  /**
   * Moves arrivals to their groups. Blocks only when nothing runs; a lone job then waits up to
   * {@code maxQueueDelay} for company.
   */
  private void take() throws InterruptedException {
    List<BatchJob> batch = new ArrayList<>();
    boolean idle = batches.values().stream().allMatch(ModelBatch::isIdle);
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
        calls.waitingJobs.decrementAndGet();
        job.finish(new BatchOutcome.Abandoned());
      } else {
        batchOf(job).add(job);
      }
    }
  }

  /** The job's model's batch, created on its first job. */
  private ModelBatch<?> batchOf(BatchJob job) {
    String modelId = job.job().modelId();
    boolean diffusion = job.job().input() instanceof Txt2ImgInput;
    return batches.computeIfAbsent((diffusion ? "txt2img:" : "vqa:") + modelId, key -> diffusion
        ? new DiffusionBatch(modelId, calls, settings.maxBatchSize(), models, txt2img)
        : new VqaBatch(modelId, calls, settings.maxBatchSize(), models, vqa));
  }

  private void abandonAll() {
    batches.values().forEach(ModelBatch::abandonAll);
    batches.clear();
    List<BatchJob> left = new ArrayList<>();
    arrivals.drainTo(left);
    left.forEach(job -> job.finish(new BatchOutcome.Abandoned()));
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
