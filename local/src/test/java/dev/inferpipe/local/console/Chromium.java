package dev.inferpipe.local.console;

import dev.inferpipe.core.job.JobCodec;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import tools.jackson.databind.JsonNode;

/**
 * A real headless Chromium (Debian's {@code chromium}) driven over the DevTools protocol: one
 * page, JavaScript evaluated in it, screenshots, viewport sizes. A small client on the JDK's
 * WebSocket, so the browser tests need no driver binary and no extra dependency tree.
 */
final class Chromium implements AutoCloseable {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private final Process process;
  private final WebSocket socket;
  private final JobCodec codec = new JobCodec();
  private final AtomicInteger ids = new AtomicInteger();
  private final Map<Integer, CompletableFuture<JsonNode>> replies = new ConcurrentHashMap<>();

  private Chromium(Process process, WebSocket socket) {
    this.process = process;
    this.socket = socket;
  }

  /** The browser binary: {@code CHROMIUM} or Debian's {@code /usr/bin/chromium}, if present. */
  static Optional<Path> binary() {
    String configured = System.getenv("CHROMIUM");
    for (String candidate : configured == null ? List.of("/usr/bin/chromium",
        "/usr/bin/chromium-browser") : List.of(configured)) {
      Path path = Path.of(candidate);
      if (Files.isExecutable(path)) {
        return Optional.of(path);
      }
    }
    return Optional.empty();
  }

  static Chromium launch(Path binary, Path profile) throws Exception {
    Files.createDirectories(profile);
    Process process = new ProcessBuilder(binary.toString(), "--headless=new", "--no-sandbox",
        "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions",
        "--remote-debugging-port=0", "--remote-allow-origins=*",
        "--user-data-dir=" + profile, "--window-size=1280,800", "about:blank")
        .redirectErrorStream(true).redirectOutput(profile.resolve("chromium.log").toFile())
        .start();
    Path portFile = profile.resolve("DevToolsActivePort");
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (!Files.exists(portFile) || Files.readAllLines(portFile).isEmpty()) {
      if (System.nanoTime() > deadline || !process.isAlive()) {
        process.destroyForcibly();
        throw new IllegalStateException("chromium did not start: " + Files.readString(
            profile.resolve("chromium.log")));
      }
      Thread.sleep(50);
    }
    int port = Integer.parseInt(Files.readAllLines(portFile).get(0).trim());
    HttpClient http = HttpClient.newHttpClient();
    String target = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
            + "/json/new?about:blank")).PUT(HttpRequest.BodyPublishers.noBody()).build(),
        HttpResponse.BodyHandlers.ofString()).body();
    JsonNode page = new JobCodec().parseTree(target.getBytes(StandardCharsets.UTF_8));
    Chromium[] self = new Chromium[1];
    WebSocket socket = http.newWebSocketBuilder().buildAsync(
        URI.create(page.get("webSocketDebuggerUrl").asString()), new WebSocket.Listener() {
          private final StringBuilder frame = new StringBuilder();

          @Override
          public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            frame.append(data);
            if (last) {
              self[0].received(frame.toString());
              frame.setLength(0);
            }
            ws.request(1);
            return null;
          }
        }).get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    self[0] = new Chromium(process, socket);
    self[0].send("Page.enable", Map.of());
    self[0].send("Runtime.enable", Map.of());
    return self[0];
  }

  private void received(String text) {
    JsonNode message = codec.parseTree(text.getBytes(StandardCharsets.UTF_8));
    if (message.has("id")) {
      CompletableFuture<JsonNode> reply = replies.remove(message.get("id").asInt());
      if (reply != null) {
        reply.complete(message);
      }
    }
  }

  /** One DevTools command; its {@code result}, or an exception with the protocol's error. */
  JsonNode send(String method, Map<String, Object> params) throws Exception {
    int id = ids.incrementAndGet();
    CompletableFuture<JsonNode> reply = new CompletableFuture<>();
    replies.put(id, reply);
    Map<String, Object> command = new LinkedHashMap<>();
    command.put("id", id);
    command.put("method", method);
    command.put("params", params);
    socket.sendText(new String(codec.encode(command), StandardCharsets.UTF_8), true)
        .get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    JsonNode message = reply.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    if (message.has("error")) {
      throw new IllegalStateException(method + ": " + message.get("error"));
    }
    return message.get("result");
  }

  /** Evaluates {@code expression} in the page (promises awaited); its JSON value. */
  JsonNode eval(String expression) throws Exception {
    JsonNode result = send("Runtime.evaluate", Map.of("expression", expression,
        "awaitPromise", true, "returnByValue", true));
    if (result.has("exceptionDetails")) {
      throw new IllegalStateException("page script failed: " + result.get("exceptionDetails")
          + " in: " + expression);
    }
    JsonNode value = result.get("result").get("value");
    return value;
  }

  /** Loads {@code url} and waits for the document to finish loading. */
  void navigate(String url) throws Exception {
    send("Page.navigate", Map.of("url", url));
    await("document.readyState === 'complete' && location.href === " + quote(url), TIMEOUT);
  }

  /** Waits until {@code condition} (a page expression) is true. */
  void await(String condition, Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      JsonNode value = null;
      try {
        value = eval("!!(" + condition + ")");
      } catch (IllegalStateException e) {
        // A page between loads: try again.
      }
      if (value != null && value.asBoolean()) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within " + timeout + ": " + condition + "; page text: "
            + eval("document.body ? document.body.innerText.slice(0, 2000) : ''"));
      }
      Thread.sleep(100);
    }
  }

  /** The viewport as a desktop or a phone would have it. */
  void viewport(int width, int height, boolean mobile) throws Exception {
    send("Emulation.setDeviceMetricsOverride", Map.of("width", width, "height", height,
        "deviceScaleFactor", 1, "mobile", mobile));
  }

  /** A PNG of the page as the viewport shows it. */
  void screenshot(Path file) throws Exception {
    JsonNode shot = send("Page.captureScreenshot", Map.of("format", "png"));
    Files.createDirectories(file.getParent());
    Files.write(file, Base64.getDecoder().decode(shot.get("data").asString()));
  }

  static String quote(String text) {
    return new String(new JobCodec().encode(text), StandardCharsets.UTF_8);
  }

  @Override
  public void close() {
    try {
      socket.sendClose(WebSocket.NORMAL_CLOSURE, "done").get(5, TimeUnit.SECONDS);
    } catch (Exception e) {
      // The browser goes anyway.
    }
    // Its helpers (renderer, zygote, crashpad) outlive it for a moment and still write into the
    // profile, so a test's temp directory could not be deleted (a clean-clone verify failed so).
    java.util.List<ProcessHandle> helpers = process.descendants().toList();
    process.destroy();
    try {
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
      helpers.forEach(ProcessHandle::destroy);
      for (ProcessHandle helper : helpers) {
        try {
          helper.onExit().get(5, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
          helper.destroyForcibly();
        }
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      helpers.forEach(ProcessHandle::destroyForcibly);
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      process.destroyForcibly();
      helpers.forEach(ProcessHandle::destroyForcibly);
    }
  }
}
