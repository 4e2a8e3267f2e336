package dev.inferpipe.local;

import dev.inferpipe.core.config.Env;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code ./pipeline soak [minutes] [jobs/s]}: the local stack under a steady load of small jobs
 * (3 txt2img at 10 steps : 1 VQA), then a report: throughput, end-to-end latency percentiles
 * (submit -> terminal status seen by polling), jobs lost (no terminal status 60 s after the
 * load stopped), and heap after a full GC: after start-up, after a warm-up under load (the
 * baseline: pools, caches and the local trace store have filled by then) and at the end.
 */
final class Soak {
  /** Traces the local stack keeps during a soak (its default of 5000 would take ~80 min to fill). */
  static final int TRACES_KEPT = 100;

  private Soak() {}

  /** Load before the baseline heap is taken: a fifth of the run, between 30 s and 60 s. */
  static Duration warmUp(Duration length) {
    Duration fifth = length.dividedBy(5);
    return fifth.compareTo(Duration.ofSeconds(30)) < 0 ? Duration.ofSeconds(30)
        : fifth.compareTo(Duration.ofSeconds(60)) > 0 ? Duration.ofSeconds(60) : fifth;
  }

  static int run(Env env, PrintStream out, Duration length, double perSecond) throws Exception {
    try (LocalStack stack = LocalStack.start(env)) {
      ApiClient api = new ApiClient(stack.apiUrl());
      long readyBy = System.nanoTime() + Duration.ofMinutes(2).toNanos();
      while (!(stack.consumerReady() && api.get("/readyz").status() == 200)) {
        if (System.nanoTime() > readyBy) {
          throw new IllegalStateException("the local stack did not become ready");
        }
        Thread.sleep(100);
      }
      long heapStartUp = heapAfterGc();
      Map<String, Long> submittedAt = new ConcurrentHashMap<>();
      List<Double> latenciesMs = Collections.synchronizedList(new ArrayList<>());
      Map<String, String> terminal = new ConcurrentHashMap<>();
      AtomicInteger rejected = new AtomicInteger();
      List<String> rejections = Collections.synchronizedList(new ArrayList<>());
      AtomicInteger sequence = new AtomicInteger();
      ScheduledExecutorService scheduler = Executors.newScheduledThreadPool(2);
      long periodMicros = (long) (1_000_000 / perSecond);
      scheduler.scheduleAtFixedRate(() -> {
        int n = sequence.incrementAndGet();
        String body = n % 4 == 0
            ? "{\"task\":\"vqa\",\"model_id\":\"tiny-shapes-vqa\",\"input\":{\"image\":\""
                + SoakScene.BASE64 + "\",\"question\":\"what colour is the circle?\"}}"
            : "{\"task\":\"txt2img\",\"model_id\":\"tiny-shapes-diffusion\",\"input\":{"
                + "\"prompt\":\"a red circle\",\"steps\":10,\"seed\":" + n + "}}";
        try {
          long start = System.nanoTime();
          ApiClient.Response response = api.submit(body);
          if (response.status() == 202) {
            submittedAt.put(api.json(response.body()).get("job_id").asString(), start);
          } else {
            rejected.incrementAndGet();
            rejections.add(response.status() + " " + response.body());
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt(); // the load is over: not a rejection
        } catch (Exception e) {
          rejected.incrementAndGet();
          rejections.add(e.toString());
        }
      }, 0, periodMicros, TimeUnit.MICROSECONDS);
      scheduler.scheduleWithFixedDelay(() -> poll(api, submittedAt, terminal, latenciesMs),
          200, 200, TimeUnit.MILLISECONDS);
      long loadStart = System.nanoTime();
      Duration warmUp = warmUp(length);
      Thread.sleep(warmUp.toMillis());
      long heapStart = heapAfterGc();
      Thread.sleep(Math.max(0, length.minus(warmUp).toMillis()));
      scheduler.shutdownNow();
      scheduler.awaitTermination(10, TimeUnit.SECONDS);
      long loadNanos = System.nanoTime() - loadStart;
      long drainBy = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (terminal.size() < submittedAt.size() && System.nanoTime() < drainBy) {
        poll(api, submittedAt, terminal, latenciesMs);
        Thread.sleep(200);
      }
      long heapEnd = heapAfterGc();
      report(out, length, perSecond, loadNanos, submittedAt.size(), rejected.get(), terminal,
          latenciesMs, heapStartUp, warmUp, heapStart, heapEnd);
      rejections.stream().limit(3).forEach(reason -> out.println("  rejected: " + reason));
      long lost = submittedAt.size() - terminal.size();
      return lost == 0 && terminal.values().stream().allMatch("SUCCEEDED"::equals) ? 0 : 1;
    }
  }

  private static void poll(ApiClient api, Map<String, Long> submittedAt, Map<String, String> terminal,
      List<Double> latenciesMs) {
    for (Map.Entry<String, Long> job : submittedAt.entrySet()) {
      if (terminal.containsKey(job.getKey())) {
        continue;
      }
      try {
        ApiClient.Response r = api.get("/v1/jobs/" + job.getKey());
        if (r.status() != 200) {
          continue;
        }
        String status = api.json(r.body()).get("status").asString();
        if (dev.inferpipe.core.job.JobState.valueOf(status).isTerminal()) {
          terminal.put(job.getKey(), status);
          latenciesMs.add((System.nanoTime() - job.getValue()) / 1e6);
        }
      } catch (Exception e) {
        // A poll that fails is retried on the next round.
      }
    }
  }

  private static long heapAfterGc() throws InterruptedException {
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(200);
    }
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  private static void report(PrintStream out, Duration length, double perSecond, long loadNanos,
      int submitted, int rejected, Map<String, String> terminal, List<Double> latencies,
      long heapStartUp, Duration warmUp, long heapStart, long heapEnd) {
    List<Double> sorted = new ArrayList<>(latencies);
    Collections.sort(sorted);
    long succeeded = terminal.values().stream().filter("SUCCEEDED"::equals).count();
    out.printf("soak: %d min at %.2f jobs/s (3 txt2img at 10 steps : 1 vqa), local stack, loopback%n",
        length.toMinutes(), perSecond);
    out.printf("  submitted %d (rejected %d), terminal %d (succeeded %d, other %d), lost %d%n",
        submitted, rejected, terminal.size(), succeeded, terminal.size() - succeeded,
        submitted - terminal.size());
    out.printf("  throughput %.2f jobs/s%n", terminal.size() / (loadNanos / 1e9));
    out.printf("  end-to-end latency ms: p50 %.0f  p95 %.0f  p99 %.0f  max %.0f%n",
        percentile(sorted, 0.50), percentile(sorted, 0.95), percentile(sorted, 0.99),
        sorted.isEmpty() ? Double.NaN : sorted.get(sorted.size() - 1));
    out.printf("  heap after GC: after start-up %.1f MiB; after %d s warm-up %.1f MiB, end %.1f MiB"
            + " (%.2fx of warm-up)%n", heapStartUp / 1048576.0, warmUp.toSeconds(),
        heapStart / 1048576.0, heapEnd / 1048576.0, (double) heapEnd / heapStart);
    out.printf("  (local trace store capped at %d traces)%n", TRACES_KEPT);
  }

  private static double percentile(List<Double> sorted, double p) {
    if (sorted.isEmpty()) {
      return Double.NaN;
    }
    return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(p * sorted.size()) - 1));
  }
}
