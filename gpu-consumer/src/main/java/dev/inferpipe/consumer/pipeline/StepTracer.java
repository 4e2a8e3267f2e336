package dev.inferpipe.consumer.pipeline;

import dev.inferpipe.consumer.diffusion.StepObserver;
import io.micrometer.core.instrument.Timer;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.Tracer;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Traces the steps (a negative timestep means the loop has none, as in token generation) of a sampling or generate loop under the current span, per
 * {@link StepTelemetry}, and times each step into a histogram. Also the place a running job is
 * stopped between steps when {@code cancelled} becomes true.
 */
final class StepTracer implements StepObserver {
  private final Tracer tracer;
  private final StepTelemetry mode;
  private final String spanName;
  private final String indexAttribute;
  private final Timer stepTimer;
  private final BooleanSupplier cancelled;

  StepTracer(Tracer tracer, StepTelemetry mode, String spanName, String indexAttribute,
      Timer stepTimer, BooleanSupplier cancelled) {
    this.tracer = tracer;
    this.mode = mode;
    this.spanName = spanName;
    this.indexAttribute = indexAttribute;
    this.stepTimer = stepTimer;
    this.cancelled = cancelled;
  }

  @Override
  public Step begin(int index, int timestep) {
    if (cancelled.getAsBoolean()) {
      throw new JobCancelledException();
    }
    long start = System.nanoTime();
    Span parent = Span.current();
    Span span = null;
    if (mode == StepTelemetry.SPANS) {
      var builder = tracer.spanBuilder(spanName + " " + index).setAttribute(indexAttribute, (long) index);
      if (timestep >= 0) {
        builder.setAttribute("diffusion.timestep", (long) timestep);
      }
      span = builder.startSpan();
    }
    Span stepSpan = span;
    // Current while the step runs, so the step's own attributes (e.g. the token) land on it.
    io.opentelemetry.context.Scope scope = span == null ? null : span.makeCurrent();
    return () -> {
      long nanos = System.nanoTime() - start;
      stepTimer.record(nanos, TimeUnit.NANOSECONDS);
      if (stepSpan != null) {
        scope.close();
        stepSpan.end();
      } else if (mode == StepTelemetry.EVENTS) {
        var event = Attributes.builder().put(indexAttribute, index).put("duration_ms", nanos / 1e6);
        if (timestep >= 0) {
          event.put("diffusion.timestep", timestep);
        }
        parent.addEvent(spanName, event.build());
      }
    };
  }
}
