package dev.inferpipe.core.telemetry;

import io.opentelemetry.context.Context;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.trace.ReadWriteSpan;
import io.opentelemetry.sdk.trace.ReadableSpan;
import io.opentelemetry.sdk.trace.SpanProcessor;
import io.opentelemetry.sdk.trace.data.SpanData;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Finished spans kept in memory, by trace, for the local stack: the demo's waterfall and
 * {@code GET /v1/jobs/{id}/trace} read it. One store can be shared by several services' SDKs in
 * one JVM, which is how one job's spans from three services end up in one place. Bounded: the
 * oldest traces are dropped first.
 */
public final class SpanStore implements SpanProcessor {
  private final int maxTraces;
  private final Map<String, List<SpanData>> traces;

  public SpanStore(int maxTraces) {
    this.maxTraces = maxTraces;
    this.traces = new LinkedHashMap<>(16, 0.75f, false) {
      private static final long serialVersionUID = 1L;

      @Override
      protected boolean removeEldestEntry(Map.Entry<String, List<SpanData>> eldest) {
        return size() > SpanStore.this.maxTraces;
      }
    };
  }

  /** The spans of one trace that have ended so far, in start order. */
  public List<SpanData> trace(String traceId) {
    synchronized (traces) {
      List<SpanData> spans = new ArrayList<>(traces.getOrDefault(traceId, List.of()));
      spans.sort((a, b) -> Long.compare(a.getStartEpochNanos(), b.getStartEpochNanos()));
      return spans;
    }
  }

  @Override
  public void onStart(Context parentContext, ReadWriteSpan span) {}

  @Override
  public boolean isStartRequired() {
    return false;
  }

  @Override
  public void onEnd(ReadableSpan span) {
    SpanData data = span.toSpanData();
    synchronized (traces) {
      traces.computeIfAbsent(data.getTraceId(), id -> new ArrayList<>()).add(data);
    }
  }

  @Override
  public boolean isEndRequired() {
    return true;
  }

  // Shared by several SDKs: one SDK shutting down must not clear what the others stored.
  @Override
  public CompletableResultCode shutdown() {
    return CompletableResultCode.ofSuccess();
  }
}
