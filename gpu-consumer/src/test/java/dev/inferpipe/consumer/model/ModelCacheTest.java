package dev.inferpipe.consumer.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import dev.inferpipe.consumer.TestModels;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class ModelCacheTest {
  @Test
  void concurrentRequestsShareOneLoadAndHitsAreCounted() throws Exception {
    InMemorySpanExporter spans = InMemorySpanExporter.create();
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (SdkTracerProvider provider = SdkTracerProvider.builder()
            .addSpanProcessor(SimpleSpanProcessor.create(spans)).build();
        ModelCache cache = new ModelCache(TestModels.bundled(), new ModelLoader(Device.cpu()),
            provider.get("test"), registry, 1)) {
      ExecutorService pool = Executors.newFixedThreadPool(4);
      List<Callable<LoadedModel>> calls = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        calls.add(() -> cache.get("tiny-shapes-vqa"));
      }
      List<LoadedModel> loaded = new ArrayList<>();
      for (Future<LoadedModel> f : pool.invokeAll(calls)) {
        loaded.add(f.get());
      }
      pool.shutdown();

      assertThat(loaded).allSatisfy(m -> assertThat(m).isSameAs(loaded.get(0)));
      List<SpanData> loads = spans.getFinishedSpanItems().stream()
          .filter(s -> s.getName().equals("model.load")).toList();
      assertThat(loads).hasSize(1);
      assertThat(loads.get(0).getAttributes().asMap().toString())
          .contains("model.source=classpath:models/tiny-shapes-vqa/", "model.bytes=");
      assertThat(registry.get("inference.model.cache.requests").tag("result", "miss").counter()
          .count()).isEqualTo(1);
      assertThat(registry.get("inference.model.cache.requests").tag("result", "hit").counter()
          .count()).isEqualTo(7);
      assertThat(registry.get("inference.model.cache.hit.ratio").gauge().value()).isEqualTo(7 / 8.0);

      // Capacity 1: loading another model evicts the first, and asking again reloads it.
      cache.get("tiny-shapes-diffusion");
      assertThat(cache.isLoaded("tiny-shapes-vqa")).isFalse();
      cache.get("tiny-shapes-vqa");
      assertThat(spans.getFinishedSpanItems().stream()
          .filter(s -> s.getName().equals("model.load")).count()).isEqualTo(3);
    }
  }
}
