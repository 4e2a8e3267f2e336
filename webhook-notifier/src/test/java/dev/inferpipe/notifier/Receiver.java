package dev.inferpipe.notifier;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.IntFunction;

/**
 * A real HTTP receiver on loopback: records every request (headers, raw body) and answers with
 * the status (and headers) a script chooses per request number.
 */
final class Receiver implements AutoCloseable {
  record Received(Map<String, List<String>> headers, byte[] body, String path) {
    String header(String name) {
      return headers.entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase(name))
          .map(e -> e.getValue().get(0)).findFirst().orElse(null);
    }
  }

  /**
   * @param delayMs how long the receiver waits before answering
   * @param bodyBytes the size of the answer's body
   */
  record Answer(int code, Map<String, String> headers, long delayMs, int bodyBytes) {
    Answer(int code, Map<String, String> headers) {
      this(code, headers, 0, 2);
    }

    static Answer of(int code) {
      return new Answer(code, Map.of());
    }
  }

  private final HttpServer server;
  private final List<Received> received = new CopyOnWriteArrayList<>();
  private final java.util.concurrent.atomic.AtomicInteger cutOff =
      new java.util.concurrent.atomic.AtomicInteger();

  /** @param script the answer to the n-th request (1-based) */
  Receiver(IntFunction<Answer> script) throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/", exchange -> answer(exchange, script));
    server.setExecutor(java.util.concurrent.Executors.newFixedThreadPool(4));
    server.start();
  }

  private void answer(HttpExchange exchange, IntFunction<Answer> script) throws IOException {
    byte[] body = exchange.getRequestBody().readAllBytes();
    received.add(new Received(Map.copyOf(exchange.getRequestHeaders()), body,
        exchange.getRequestURI().getPath()));
    Answer answer = script.apply(received.size());
    answer.headers().forEach((k, v) -> exchange.getResponseHeaders().add(k, v));
    try {
      Thread.sleep(answer.delayMs());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try {
      exchange.sendResponseHeaders(answer.code(), answer.bodyBytes());
      byte[] chunk = new byte[64 * 1024];
      java.util.Arrays.fill(chunk, (byte) 'x');
      for (int left = answer.bodyBytes(); left > 0; left -= chunk.length) {
        exchange.getResponseBody().write(chunk, 0, Math.min(left, chunk.length));
      }
    } catch (IOException e) {
      cutOff.incrementAndGet(); // the notifier stopped reading: the answer was over its bound
    } finally {
      exchange.close();
    }
  }

  String url(String path) {
    return "http://127.0.0.1:" + server.getAddress().getPort() + path;
  }

  /** Answers the client closed before they were written to the end. */
  int cutOff() {
    return cutOff.get();
  }

  List<Received> received() {
    return List.copyOf(received);
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
