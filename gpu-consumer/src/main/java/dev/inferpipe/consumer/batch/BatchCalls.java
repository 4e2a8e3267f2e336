package dev.inferpipe.consumer.batch;

import dev.inferpipe.consumer.pipeline.StepTelemetry;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What every batch shares: the tracer and step telemetry, the meters (rows in batches, jobs
 * waiting, rows per call, time to join), and the span and batch id of each model call.
 */
final class BatchCalls {
  final Tracer tracer;
  final StepTelemetry stepTelemetry;
  final MeterRegistry registry;
  final AtomicInteger activeRows = new AtomicInteger();
  final AtomicInteger waitingJobs = new AtomicInteger();
  private long calls;

  BatchCalls(Tracer tracer, StepTelemetry stepTelemetry, MeterRegistry registry) {
    this.tracer = tracer;
    this.stepTelemetry = stepTelemetry;
    this.registry = registry;
    registry.gauge("inference.batch.active.rows", activeRows);
    registry.gauge("inference.batch.waiting.jobs", waitingJobs);
  }

  /**
   * Records a batched call's time with {@code span} current, so the histogram's exemplar points
   * at a trace that took part in it (the first row's).
   */
  static void record(Timer timer, long nanos, Span span) {
    try (io.opentelemetry.context.Scope ignored = span.makeCurrent()) {
      timer.record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
    }
  }

  /** Time from admission until a job's row joins a batch of {@code modelId}. */
  Timer joinWait(String modelId) {
    return Timer.builder("inference.batch.join.wait").tag("model", modelId).register(registry);
  }


  /**
   * One model call: its batch-size sample, and, over two rows or more, its own span in its own
   * trace linked to every member's job span; {@code batch.id} names that trace.
   */
  Call call(String component, String modelId, List<BatchJob> members) {
    DistributionSummary.builder("inference.batch.size").tags("model", modelId, "call", component)
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


  record Call(Span span, String id, int size) {
    SpanBuilder tag(SpanBuilder builder) {
      return builder.setAttribute("batch.size", (long) size).setAttribute("batch.id", id);
    }

    void fail(Throwable e) {
      if (span != null) {
        BatchCalls.fail(span, e);
      }
    }

    void end() {
      if (span != null) {
        span.end();
      }
    }
  }


  static void fail(Span span, Throwable e) {
    span.recordException(e);
    span.setStatus(StatusCode.ERROR, String.valueOf(e.getMessage()));
  }
}
