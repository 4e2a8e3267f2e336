package dev.inferpipe.core.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import java.util.List;
import org.junit.jupiter.api.Test;

class SpanStoreTest {
  private static final AttributeKey<String> PROMPT = AttributeKey.stringKey("prompt");

  /** Ends a root span with one attribute of {@code chars} characters; returns its trace id. */
  private static String trace(Tracer tracer, int chars) {
    Span span = tracer.spanBuilder("job").setAttribute(PROMPT, "x".repeat(chars)).startSpan();
    span.end();
    return span.getSpanContext().getTraceId();
  }

  @Test
  void spansBeyondTheCapOfTheirTraceAreDroppedAndCounted() {
    SpanStore store = SpanStore.builder(10).maxSpansPerTrace(3).build();
    try (SdkTracerProvider provider = SdkTracerProvider.builder().addSpanProcessor(store).build()) {
      Tracer tracer = provider.get("t");
      Span root = tracer.spanBuilder("root").startSpan();
      Context inRoot = Context.root().with(root);
      for (int i = 0; i < 5; i++) {
        tracer.spanBuilder("step " + i).setParent(inRoot).startSpan().end();
      }
      root.end();
      String other = trace(tracer, 1);

      assertThat(store.trace(root.getSpanContext().getTraceId())).extracting(SpanData::getName)
          .containsExactly("step 0", "step 1", "step 2");
      assertThat(store.droppedSpans()).isEqualTo(3);
      assertThat(store.trace(other)).hasSize(1);
    }
  }

  @Test
  void theOneArgumentConstructorKeepsTwoThousandSpansPerTrace() {
    SpanStore store = new SpanStore(1);
    try (SdkTracerProvider provider = SdkTracerProvider.builder().addSpanProcessor(store).build()) {
      Tracer tracer = provider.get("t");
      Span root = tracer.spanBuilder("root").startSpan();
      Context inRoot = Context.root().with(root);
      for (int i = 0; i < SpanStore.DEFAULT_MAX_SPANS_PER_TRACE + 1; i++) {
        tracer.spanBuilder("step").setParent(inRoot).startSpan().end();
      }
      assertThat(store.trace(root.getSpanContext().getTraceId())).hasSize(2_000);
      assertThat(store.droppedSpans()).isEqualTo(1);
    }
  }

  @Test
  void theOldestTracesAreEvictedUntilTheStoreIsUnderItsByteCap() {
    SpanStore store = SpanStore.builder(100).maxBytes(25_000).build();
    try (SdkTracerProvider provider = SdkTracerProvider.builder().addSpanProcessor(store).build()) {
      Tracer tracer = provider.get("t");
      String first = trace(tracer, 10_000);
      String second = trace(tracer, 10_000);
      assertThat(store.trace(first)).hasSize(1);
      long twoSpans = store.storedBytes();
      assertThat(twoSpans).isBetween(20_000L, 25_000L);

      String third = trace(tracer, 10_000);
      assertThat(store.trace(first)).isEmpty();
      assertThat(store.trace(second)).hasSize(1);
      assertThat(store.trace(third)).hasSize(1);
      assertThat(store.storedBytes()).isEqualTo(twoSpans);

      // One span over the whole cap is refused rather than emptying the store for nothing.
      String huge = trace(tracer, 30_000);
      assertThat(store.trace(huge)).isEmpty();
      assertThat(store.trace(second)).hasSize(1);
      assertThat(store.trace(third)).hasSize(1);
      assertThat(store.droppedSpans()).isEqualTo(1);
    }
  }

  @Test
  void aSpansSizeCountsItsNameAttributesEventsAndLinks() {
    SpanStore store = SpanStore.builder(10).build();
    try (SdkTracerProvider provider = SdkTracerProvider.builder().addSpanProcessor(store).build()) {
      Tracer tracer = provider.get("t");
      Span linked = tracer.spanBuilder("linked").startSpan();
      linked.end();
      Span plain = tracer.spanBuilder("n").startSpan();
      plain.end();
      Span rich = tracer.spanBuilder("n".repeat(1_000))
          .setAttribute(AttributeKey.stringKey("k".repeat(1_000)), "v".repeat(1_000))
          .setAttribute(AttributeKey.stringArrayKey("list"), List.of("a".repeat(1_000)))
          .addLink(linked.getSpanContext(), Attributes.of(PROMPT, "l".repeat(1_000)))
          .startSpan();
      rich.addEvent("e".repeat(1_000), Attributes.of(PROMPT, "p".repeat(1_000)));
      rich.end();

      long plainBytes = SpanStore.estimatedBytes(store.trace(plain.getSpanContext().getTraceId()).get(0));
      long richBytes = SpanStore.estimatedBytes(store.trace(rich.getSpanContext().getTraceId()).get(0));
      assertThat(richBytes - plainBytes).isGreaterThanOrEqualTo(7_000);
    }
  }
}
