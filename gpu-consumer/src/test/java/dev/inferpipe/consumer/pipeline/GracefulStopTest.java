package dev.inferpipe.consumer.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A graceful stop must not fail the job in hand. Found by the fault suite: with ImageIO's default
 * file cache, SIGTERM ran ImageIO's own shutdown hook, which closed the PNG stream a job was
 * writing ("IOException: closed"), and the job ended FAILED while the service was finishing it.
 */
class GracefulStopTest {
  @Test
  void sigtermWhileEncodingAPngDoesNotFailTheEncoding(@TempDir Path dir) throws Exception {
    String classPath = System.getProperty("surefire.test.class.path",
        System.getProperty("java.class.path"));
    Path output = dir.resolve("out.txt");
    Process process = new ProcessBuilder(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp", classPath,
        EncodeUntilStopped.class.getName()))
        .redirectErrorStream(true).redirectOutput(output.toFile()).start();
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (!Files.readString(output).contains("encoding")) {
        assertThat(System.nanoTime()).as("the child started").isLessThan(deadline);
        Thread.sleep(20);
      }
      Thread.sleep(1500); // thousands of PNGs encoded by now, one always in flight
      process.destroy(); // SIGTERM
      assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
      List<String> lines = Files.readAllLines(output);
      assertThat(lines.get(lines.size() - 1)).isEqualTo("ok");
    } finally {
      process.destroyForcibly();
    }
  }
}
