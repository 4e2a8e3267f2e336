package dev.inferpipe.consumer.batch;

import dev.inferpipe.core.job.Job;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.context.Context;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * An admitted job as the scheduler runs it: its input, the context its spans hang under (the
 * job's CONSUMER span), how to tell it was cancelled, and where its one outcome goes.
 */
public final class BatchJob {
  private final Job job;
  private final String tenant;
  private final Context context;
  private final BooleanSupplier cancelled;
  private final Consumer<BatchOutcome> onDone;
  private final long submittedNanos;
  private final AtomicBoolean abandoned = new AtomicBoolean();
  private final AtomicBoolean finished = new AtomicBoolean();

  private BatchJob(Job job, String tenant, Context context, BooleanSupplier cancelled,
      Consumer<BatchOutcome> onDone) {
    this.job = job;
    this.tenant = tenant;
    this.context = context;
    this.cancelled = cancelled;
    this.onDone = onDone;
    this.submittedNanos = System.nanoTime();
  }

  /**
   * @param context the job's span context: its spans are children, batch spans link to it
   * @param onDone told the outcome once, on the scheduler's thread: keep it short
   */
  public static BatchJob of(Job job, String tenant, Context context, BooleanSupplier cancelled,
      Consumer<BatchOutcome> onDone) {
    return new BatchJob(job, tenant, context, cancelled, onDone);
  }

  public Job job() {
    return job;
  }

  public String tenant() {
    return tenant;
  }

  public Context context() {
    return context;
  }

  SpanContext spanContext() {
    return io.opentelemetry.api.trace.Span.fromContext(context).getSpanContext();
  }

  boolean isCancelled() {
    return cancelled.getAsBoolean();
  }

  long submittedNanos() {
    return submittedNanos;
  }

  /** Asks the scheduler to drop the job at the next step boundary, publishing nothing. */
  public void abandon() {
    abandoned.set(true);
  }

  public boolean isAbandoned() {
    return abandoned.get();
  }

  /** Delivers the outcome; later calls are ignored (the first outcome is the job's). */
  void finish(BatchOutcome outcome) {
    if (finished.compareAndSet(false, true)) {
      onDone.accept(isAbandoned() && !(outcome instanceof BatchOutcome.Abandoned)
          ? new BatchOutcome.Abandoned() : outcome);
    }
  }
}
