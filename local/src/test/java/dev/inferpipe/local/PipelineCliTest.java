package dev.inferpipe.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.inferpipe.core.config.Env;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PipelineCliTest {
  @Test
  void unknownCommandPrintsUsageAndFails() throws Exception {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = PipelineCli.run(new String[] {"launch"}, Env.of(Map.of()),
        new PrintStream(new ByteArrayOutputStream()), new PrintStream(err, true, StandardCharsets.UTF_8));
    assertThat(code).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("unknown command 'launch'", "up ");
  }

  @Test
  void helpSucceeds() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    assertThat(PipelineCli.run(new String[] {"help"}, Env.of(Map.of()),
        new PrintStream(out, true, StandardCharsets.UTF_8), System.err)).isZero();
    assertThat(out.toString(StandardCharsets.UTF_8)).contains("usage: ./pipeline");
  }

  @Test
  void hashKeyPrintsTheSha256OfTheKey() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    assertThat(PipelineCli.run(new String[] {"hash-key", "abc"}, Env.of(Map.of()),
        new PrintStream(out, true, StandardCharsets.UTF_8), System.err)).isZero();
    assertThat(out.toString(StandardCharsets.UTF_8).trim())
        .isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  }

  @Test
  void benchPipelineRefusesOptionsItWouldIgnore() {
    PrintStream quiet = new PrintStream(new ByteArrayOutputStream());
    // Refused while parsing, before any stack starts.
    assertThatThrownBy(() -> PipelineCli.run(
        new String[] {"bench", "pipeline", "--part", "overhead", "--rounds", "2"},
        Env.of(Map.of()), quiet, quiet))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--part batching");
    assertThatThrownBy(() -> PipelineCli.run(new String[] {"bench", "pipeline", "--jobs"},
        Env.of(Map.of()), quiet, quiet))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--jobs has no value");
  }
}
