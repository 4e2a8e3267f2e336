package dev.inferpipe.faults;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One service (gpu-consumer or storage-sink) running in its own JVM, started from this module's
 * test classpath with its configuration in environment variables, as a container would run it.
 * {@link #kill()} is SIGKILL: no shutdown hook, no offset commit, no goodbye to the group.
 */
final class ServiceProcess implements AutoCloseable {
  private static final HttpClient HTTP = HttpClient.newBuilder()
      .connectTimeout(Duration.ofSeconds(2)).build();

  private final String name;
  private final String mainClass;
  private final Map<String, String> env;
  private final int managementPort;
  private final Path log;
  private Process process;

  ServiceProcess(String name, String mainClass, Map<String, String> env, int managementPort,
      Path logDir) {
    this.name = name;
    this.mainClass = mainClass;
    this.env = Map.copyOf(env);
    this.managementPort = managementPort;
    this.log = logDir.resolve(name + ".log");
  }

  String name() {
    return name;
  }

  /** Starts the JVM (appending to its log, so a restarted process keeps one file). */
  synchronized ServiceProcess start() throws IOException {
    if (process != null && process.isAlive()) {
      throw new IllegalStateException(name + " is already running");
    }
    Files.createDirectories(log.getParent());
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
        "-Dai.djl.offline=true",
        // One compute thread per JVM, as a CPU limit gives each pod its own share: two
        // PyTorch processes each spinning two OpenMP threads on the build machine's two cores
        // slowed sampling fifty-fold.
        "-Dai.djl.pytorch.num_threads=1", "-Dai.djl.pytorch.num_interop_threads=1",
        "-cp", classPath(), mainClass));
    ProcessBuilder builder = new ProcessBuilder(command)
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    builder.environment().put("OMP_NUM_THREADS", "1");
    builder.environment().putAll(env);
    process = builder.start();
    return this;
  }

  /** Waits for {@code /readyz}: models loaded, status table caught up, subscribed. */
  ServiceProcess awaitReady(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    URI ready = URI.create("http://127.0.0.1:" + managementPort + "/readyz");
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new AssertionError(name + " exited with " + process.exitValue() + "; see " + log);
      }
      try {
        if (HTTP.send(HttpRequest.newBuilder(ready).timeout(Duration.ofSeconds(2)).build(),
            HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
          return this;
        }
      } catch (IOException e) {
        // Not listening yet.
      }
      Thread.sleep(100);
    }
    throw new AssertionError(name + " not ready within " + timeout + "; see " + log);
  }

  /** The liveness probe's answer, as Kubernetes would ask it. */
  int healthz() throws IOException, InterruptedException {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + managementPort
        + "/healthz")).timeout(Duration.ofSeconds(2)).build(),
        HttpResponse.BodyHandlers.discarding()).statusCode();
  }

  /** SIGKILL, then wait until the process is gone. */
  synchronized void kill() throws InterruptedException {
    if (process != null) {
      process.destroyForcibly();
      process.waitFor(30, TimeUnit.SECONDS);
    }
  }

  /** SIGTERM: the service finishes the record in hand, commits, and leaves its group. */
  synchronized void stop() throws InterruptedException {
    if (process != null && process.isAlive()) {
      process.destroy();
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  synchronized boolean isAlive() {
    return process != null && process.isAlive();
  }

  Path log() {
    return log;
  }

  /** Surefire and failsafe may hide the real classpath behind a manifest-only jar. */
  private static String classPath() {
    String testClassPath = System.getProperty("surefire.test.class.path");
    return testClassPath != null && !testClassPath.isBlank()
        ? testClassPath : System.getProperty("java.class.path");
  }

  @Override
  public void close() throws InterruptedException {
    kill();
  }
}
