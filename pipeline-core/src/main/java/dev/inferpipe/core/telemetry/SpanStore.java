package dev.inferpipe.core.telemetry;

import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.context.Context;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.trace.ReadWriteSpan;
import io.opentelemetry.sdk.trace.ReadableSpan;
import io.opentelemetry.sdk.trace.SpanProcessor;
import io.opentelemetry.sdk.trace.data.EventData;
import io.opentelemetry.sdk.trace.data.LinkData;
import io.opentelemetry.sdk.trace.data.SpanData;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Finished spans kept in memory, by trace, for the local stack: the demo's waterfall and
 * {@code GET /v1/jobs/{id}/trace} read it. One store can be shared by several services' SDKs in
 * one JVM, which is how one job's spans from three services end up in one place. Bounded three
 * ways, so a runaway trace or a flood of large spans cannot exhaust the heap: by the number of
 * traces and by their total estimated size (the oldest traces are dropped first), and by spans per
 * trace (later spans of a full trace are dropped and counted in {@link #droppedSpans()}).
 */
public final class SpanStore implements SpanProcessor {
  public static final int DEFAULT_MAX_SPANS_PER_TRACE = 2_000;
  public static final long DEFAULT_MAX_BYTES = 64L * 1024 * 1024;

  // Rough per-object costs (ids, timestamps, headers) on top of the strings a span carries.
  private static final int SPAN_OVERHEAD = 256;
  private static final int EVENT_OVERHEAD = 64;
  private static final int LINK_OVERHEAD = 64;
  private static final int ATTRIBUTE_OVERHEAD = 32;

  private final int maxTraces;
  private final int maxSpansPerTrace;
  private final long maxBytes;
  /** In order of each trace's first stored span: the eldest entry is the oldest trace. */
  private final Map<String, Trace> traces = new LinkedHashMap<>();
  private long bytes;
  private long droppedSpans;

  private static final class Trace {
    final List<SpanData> spans = new ArrayList<>();
    long bytes;
  }

  /** A store of at most {@code maxTraces} traces, with the default span and byte caps. */
  public SpanStore(int maxTraces) {
    this(builder(maxTraces));
  }

  private SpanStore(Builder builder) {
    this.maxTraces = builder.maxTraces;
    this.maxSpansPerTrace = builder.maxSpansPerTrace;
    this.maxBytes = builder.maxBytes;
  }

  public static Builder builder(int maxTraces) {
    return new Builder(maxTraces);
  }

  /** Limits other than the number of traces; each defaults to the constant of the same name. */
  public static final class Builder {
    private final int maxTraces;
    private int maxSpansPerTrace = DEFAULT_MAX_SPANS_PER_TRACE;
    private long maxBytes = DEFAULT_MAX_BYTES;

    private Builder(int maxTraces) {
      this.maxTraces = maxTraces;
    }

    public Builder maxSpansPerTrace(int maxSpansPerTrace) {
      if (maxSpansPerTrace < 1) {
        throw new IllegalArgumentException("maxSpansPerTrace must be positive: " + maxSpansPerTrace);
      }
      this.maxSpansPerTrace = maxSpansPerTrace;
      return this;
    }

    /** The cap on the estimated size of all stored spans (see {@link SpanStore#storedBytes()}). */
    public Builder maxBytes(long maxBytes) {
      if (maxBytes < 1) {
        throw new IllegalArgumentException("maxBytes must be positive: " + maxBytes);
      }
      this.maxBytes = maxBytes;
      return this;
    }

    public SpanStore build() {
      return new SpanStore(this);
    }
  }

  /** The spans of one trace that have ended so far, in start order. */
  public List<SpanData> trace(String traceId) {
    synchronized (traces) {
      Trace trace = traces.get(traceId);
      List<SpanData> spans = trace == null ? new ArrayList<>() : new ArrayList<>(trace.spans);
      spans.sort((a, b) -> Long.compare(a.getStartEpochNanos(), b.getStartEpochNanos()));
      return spans;
    }
  }

  /** Every stored span with this name, over all traces (spans outside jobs, e.g. model loads). */
  public List<SpanData> named(String spanName) {
    synchronized (traces) {
      List<SpanData> found = new ArrayList<>();
      for (Trace trace : traces.values()) {
        for (SpanData span : trace.spans) {
          if (span.getName().equals(spanName)) {
            found.add(span);
          }
        }
      }
      return found;
    }
  }

  /**
   * Spans never stored: those ending after their trace already held the maximum, and any single
   * span estimated larger than the whole byte cap. Spans of evicted traces are not counted.
   */
  public long droppedSpans() {
    synchronized (traces) {
      return droppedSpans;
    }
  }

  /**
   * The estimated size of the spans stored now: per span its name, attribute keys and values, its
   * events' and links' names and attributes, and a fixed overhead per object.
   */
  public long storedBytes() {
    synchronized (traces) {
      return bytes;
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
    long size = estimatedBytes(data);
    synchronized (traces) {
      Trace trace = traces.get(data.getTraceId());
      // A span that cannot fit on its own must not evict everything else first.
      if (size > maxBytes || (trace != null && trace.spans.size() >= maxSpansPerTrace)) {
        droppedSpans++;
        return;
      }
      if (trace == null) {
        trace = new Trace();
        traces.put(data.getTraceId(), trace);
      }
      trace.spans.add(data);
      trace.bytes += size;
      bytes += size;
      Iterator<Trace> oldestFirst = traces.values().iterator();
      while (traces.size() > maxTraces || bytes > maxBytes) {
        bytes -= oldestFirst.next().bytes;
        oldestFirst.remove();
      }
    }
  }

  /**
   * What a span costs the heap, roughly: its name, attribute keys and values, and its events' and
   * links' names and attributes, plus a fixed amount per object. Resource and scope are shared by
   * all spans of an SDK and not counted.
   */
  static long estimatedBytes(SpanData span) {
    long size = SPAN_OVERHEAD + span.getName().length() + attributeBytes(span.getAttributes())
        + span.getStatus().getDescription().length();
    for (EventData event : span.getEvents()) {
      size += EVENT_OVERHEAD + event.getName().length() + attributeBytes(event.getAttributes());
    }
    for (LinkData link : span.getLinks()) {
      size += LINK_OVERHEAD + attributeBytes(link.getAttributes());
    }
    return size;
  }

  private static long attributeBytes(Attributes attributes) {
    long[] size = {0};
    attributes.forEach((key, value) ->
        size[0] += ATTRIBUTE_OVERHEAD + key.getKey().length() + valueBytes(value));
    return size[0];
  }

  private static long valueBytes(Object value) {
    if (value instanceof String text) {
      return text.length();
    }
    if (value instanceof List<?> list) {
      long size = 0;
      for (Object element : list) {
        size += 8 + valueBytes(element);
      }
      return size;
    }
    if (value instanceof Boolean || value instanceof Long || value instanceof Double) {
      return 8;
    }
    return String.valueOf(value).length(); // a newer attribute type: its text is a fair guess
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
