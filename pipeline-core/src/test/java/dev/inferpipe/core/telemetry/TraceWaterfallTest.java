package dev.inferpipe.core.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Scope;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class TraceWaterfallTest {
  @Test
  void rendersTheTreeFoldsStepRunsAndKeepsTracesApart() {
    SpanStore store = new SpanStore(2);
    try (SdkTracerProvider provider = SdkTracerProvider.builder()
        .setResource(Resource.create(Attributes.of(AttributeKey.stringKey("service.name"), "svc")))
        .addSpanProcessor(store).build()) {
      Tracer tracer = provider.get("t");
      Span root = tracer.spanBuilder("process jobs").setStartTimestamp(1000, TimeUnit.MILLISECONDS).startSpan();
      try (Scope ignored = root.makeCurrent()) {
        Span sample = tracer.spanBuilder("diffusion.sample").setStartTimestamp(1010, TimeUnit.MILLISECONDS).startSpan();
        try (Scope inner = sample.makeCurrent()) {
          for (int i = 0; i < 4; i++) {
            tracer.spanBuilder("diffusion.step " + i).setStartTimestamp(1010 + i * 20, TimeUnit.MILLISECONDS)
                .startSpan().end(1030 + i * 20, TimeUnit.MILLISECONDS);
          }
        }
        sample.end(1090, TimeUnit.MILLISECONDS);
      }
      root.end(1100, TimeUnit.MILLISECONDS);
      String traceId = root.getSpanContext().getTraceId();

      String text = TraceWaterfall.render(store.trace(traceId));
      assertThat(text.lines()).hasSize(4);
      assertThat(text).contains("|0 .. 100 ms|");
      assertThat(text.lines().toList().get(1)).startsWith("process jobs").contains("svc", "100.0");
      assertThat(text.lines().toList().get(2)).startsWith("  diffusion.sample").contains("80.0");
      assertThat(text.lines().toList().get(3))
          .startsWith("    diffusion.step 0..3 (4 spans, avg 20.0 ms)");

      // Bounded: two newer traces push the first one out.
      tracer.spanBuilder("a").startSpan().end();
      tracer.spanBuilder("b").startSpan().end();
      assertThat(store.trace(traceId)).isEmpty();
    }
  }
}
