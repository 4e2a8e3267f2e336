package dev.inferpipe.consumer.model;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Scope;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * Loaded models, at most {@code capacity} of them, least recently used evicted first. Concurrent
 * requests for a model that is not loaded share one load. A miss records a {@code model.load}
 * span (source, bytes) and {@code inference_model_load_seconds}; hits and misses are counted.
 */
public final class ModelCache implements AutoCloseable {
  private final ModelRepository repository;
  private final ModelLoader loader;
  private final Tracer tracer;
  private final MeterRegistry registry;
  private final int capacity;
  private final Map<String, CompletableFuture<LoadedModel>> models =
      new LinkedHashMap<>(16, 0.75f, true);
  private final Counter hits;
  private final Counter misses;

  public ModelCache(ModelRepository repository, ModelLoader loader, Tracer tracer,
      MeterRegistry registry, int capacity) {
    this.repository = repository;
    this.loader = loader;
    this.tracer = tracer;
    this.registry = registry;
    this.capacity = capacity;
    this.hits = Counter.builder("inference.model.cache.requests").tag("result", "hit")
        .register(registry);
    this.misses = Counter.builder("inference.model.cache.requests").tag("result", "miss")
        .register(registry);
    registry.gauge("inference.model.cache.hit.ratio", this, ModelCache::hitRatio);
  }

  private double hitRatio() {
    double total = hits.count() + misses.count();
    return total == 0 ? 0 : hits.count() / total;
  }

  public LoadedModel get(String modelId) {
    CompletableFuture<LoadedModel> future;
    boolean loadHere = false;
    synchronized (models) {
      future = models.get(modelId);
      if (future == null) {
        future = new CompletableFuture<>();
        models.put(modelId, future);
        loadHere = true;
        evictOverCapacity();
      }
    }
    if (!loadHere) {
      hits.increment();
      try {
        return future.join();
      } catch (CompletionException e) {
        throw (RuntimeException) e.getCause();
      }
    }
    misses.increment();
    try {
      LoadedModel model = loadTraced(modelId);
      future.complete(model);
      return model;
    } catch (RuntimeException e) {
      synchronized (models) {
        models.remove(modelId, future);
      }
      future.completeExceptionally(e);
      throw e;
    }
  }

  public boolean isLoaded(String modelId) {
    synchronized (models) {
      CompletableFuture<LoadedModel> future = models.get(modelId);
      return future != null && future.isDone() && !future.isCompletedExceptionally();
    }
  }

  private LoadedModel loadTraced(String modelId) {
    Span span = tracer.spanBuilder("model.load")
        .setAttribute("model.id", modelId)
        .setAttribute("model.cache", "miss")
        .startSpan();
    long start = System.nanoTime();
    try (Scope ignored = span.makeCurrent()) {
      ModelArtifacts artifacts = repository.fetch(modelId);
      span.setAttribute("model.source", artifacts.source());
      span.setAttribute("model.bytes", artifacts.bytes());
      span.setAttribute("model.format", artifacts.spec().format());
      LoadedModel model = loader.load(artifacts);
      Timer.builder("inference.model.load").tag("model", modelId)
          .register(registry).record(java.time.Duration.ofNanos(System.nanoTime() - start));
      return model;
    } catch (RuntimeException e) {
      span.recordException(e);
      span.setStatus(StatusCode.ERROR, e.getMessage());
      throw e;
    } finally {
      span.end();
    }
  }

  /** Called with the lock held; evicted models are closed once their load finished. */
  private void evictOverCapacity() {
    var iterator = models.entrySet().iterator();
    while (models.size() > capacity && iterator.hasNext()) {
      var eldest = iterator.next();
      iterator.remove();
      eldest.getValue().thenAccept(LoadedModel::close);
    }
  }

  @Override
  public void close() {
    synchronized (models) {
      models.values().forEach(f -> f.thenAccept(LoadedModel::close));
      models.clear();
    }
  }
}
