package dev.inferpipe.core.http;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.inferpipe.core.job.JobCodec;
import dev.inferpipe.core.telemetry.Scrape;
import dev.inferpipe.core.telemetry.Telemetry;
import io.micrometer.core.instrument.Gauge;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The management port of a worker service: {@code /metrics} (Prometheus text, or OpenMetrics
 * with exemplars when asked for; also {@code inference_worker_ready}, the readiness answer), {@code /healthz}
 * (liveness: 503 once a loop the service cannot live without has died, so Kubernetes restarts
 * the pod) and {@code /readyz} (the service says it can take work). The JDK's HTTP
 * server is enough for three fixed endpoints and adds no dependency.
 */
public final class ManagementServer implements AutoCloseable {
  private final HttpServer server;

  private ManagementServer(HttpServer server) {
    this.server = server;
  }

  /** Starts listening on {@code port} (0 picks a free one). */
  public static ManagementServer start(int port, Telemetry telemetry, BooleanSupplier ready,
      BooleanSupplier alive) {
    return start(port, telemetry, ready, alive, Map::of);
  }

  /**
   * @param problems what keeps the service from being fully ready, by subject (e.g. a model
   *     that failed to load and why); listed in {@code /readyz} and, when not empty, it answers 503
   */
  public static ManagementServer start(int port, Telemetry telemetry, BooleanSupplier ready,
      BooleanSupplier alive, Supplier<Map<String, String>> problems) {
    try {
      HttpServer server = HttpServer.create(new InetSocketAddress(port), 0);
      server.createContext("/metrics", exchange -> {
        Scrape scrape = telemetry.scrape(exchange.getRequestHeaders().getFirst("Accept"));
        respond(exchange, 200, scrape.contentType(), scrape.body());
      });
      Gauge.builder("inference.worker.ready",
              () -> ready.getAsBoolean() && problems.get().isEmpty() ? 1 : 0)
          .strongReference(true).register(telemetry.meterRegistry());
      server.createContext("/healthz", exchange -> {
        boolean isAlive = alive.getAsBoolean();
        respond(exchange, isAlive ? 200 : 503, "application/json",
            isAlive ? "{\"status\":\"ok\"}" : "{\"status\":\"dead\"}");
      });
      JobCodec codec = new JobCodec();
      server.createContext("/readyz", exchange -> {
        Map<String, String> found = problems.get();
        boolean isReady = ready.getAsBoolean() && found.isEmpty();
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("ready", isReady);
        if (!found.isEmpty()) {
          body.put("problems", found);
        }
        respond(exchange, isReady ? 200 : 503, "application/json", codec.encodeToString(body));
      });
      server.setExecutor(Executors.newFixedThreadPool(2, runnable -> {
        Thread thread = new Thread(runnable, telemetry.serviceName() + "-management");
        thread.setDaemon(true);
        return thread;
      }));
      server.start();
      return new ManagementServer(server);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot bind management port " + port, e);
    }
  }

  public int port() {
    return server.getAddress().getPort();
  }

  private static void respond(HttpExchange exchange, int status, String type, String body)
      throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", type);
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
