package dev.inferpipe.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.inferpipe.core.job.JobCodec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ApiKeysTest {
  @TempDir
  Path dir;

  private static String entry(String idField, String tenantField, String secret) {
    return "{" + idField + tenantField + "\"sha256\":\"" + ApiKeys.hash(secret)
        + "\",\"disabled\":false,\"rate_per_second\":10,\"burst\":10,\"max_queued\":10}";
  }

  private ApiKeys load(String... entries) throws Exception {
    Path file = dir.resolve("keys.json");
    Files.writeString(file, "{\"keys\":[" + String.join(",", entries) + "]}");
    return ApiKeys.load(file, new JobCodec());
  }

  @Test
  void aWellFormedFileLoadsAndItsKeysCheck() throws Exception {
    ApiKeys keys = load(entry("\"id\":\"a\",", "\"tenant\":\"team-a\",", "secret-a"));
    assertThat(keys.check(Optional.of("secret-a"))).isInstanceOfSatisfying(ApiKeys.Valid.class,
        valid -> assertThat(valid.key().tenant()).isEqualTo("team-a"));
  }

  @Test
  void aKeyWithoutTenantFailsAtLoadNamingTheKeyAndTheField() {
    assertThatThrownBy(() -> load(
        entry("\"id\":\"a\",", "\"tenant\":\"team-a\",", "secret-a"),
        entry("\"id\":\"ci-bot\",", "", "secret-b")))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("'ci-bot'").hasMessageContaining("needs tenant");
  }

  @Test
  void aBlankTenantIsRefusedLikeAMissingOne() {
    assertThatThrownBy(() -> load(entry("\"id\":\"ci-bot\",", "\"tenant\":\"  \",", "secret-b")))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("'ci-bot'").hasMessageContaining("needs tenant");
  }

  @Test
  void aKeyWithoutIdFailsAtLoadNamingItsPosition() {
    assertThatThrownBy(() -> load(
        entry("\"id\":\"a\",", "\"tenant\":\"team-a\",", "secret-a"),
        entry("\"id\":\"\",", "\"tenant\":\"team-b\",", "secret-b")))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("#2").hasMessageContaining("needs id");
    assertThatThrownBy(() -> load(entry("", "\"tenant\":\"team-b\",", "secret-b")))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("#1").hasMessageContaining("needs id");
  }

  @Test
  void twoKeysWithOneIdAreRefused() {
    assertThatThrownBy(() -> load(
        entry("\"id\":\"a\",", "\"tenant\":\"team-a\",", "secret-a"),
        entry("\"id\":\"a\",", "\"tenant\":\"team-b\",", "secret-b")))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("'a'").hasMessageContaining("more than once");
  }

  @Test
  void aFileWithoutAKeysArrayIsRefused() throws Exception {
    Path file = dir.resolve("empty.json");
    Files.writeString(file, "{}");
    assertThatThrownBy(() -> ApiKeys.load(file, new JobCodec()))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("\"keys\"");
  }

  @Test
  void aKeysWebhookSettingsAreCheckedAtLoad() throws Exception {
    String base = entry("\"id\":\"hooked\",", "\"tenant\":\"team-a\",", "secret-h");
    String good = base.substring(0, base.length() - 1) + ",\"webhook\":{\"secret\":\""
        + "s".repeat(32) + "\",\"allowed_hosts\":[\"hooks.example.com\"],"
        + "\"default_url\":\"https://hooks.example.com/in\"}}";
    ApiKeys keys = load(good);
    assertThat(keys.check(Optional.of("secret-h"))).isInstanceOfSatisfying(ApiKeys.Valid.class,
        valid -> assertThat(valid.key().webhook().allowedHosts()).containsExactly("hooks.example.com"));
    String shortSecret = good.replace("s".repeat(32), "short");
    assertThatThrownBy(() -> load(shortSecret)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("'hooked'").hasMessageContaining("webhook.secret");
    String offList = good.replace("https://hooks.example.com/in", "https://other.example.com/in");
    assertThatThrownBy(() -> load(offList)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("webhook.default_url");
    String noHosts = good.replace("[\"hooks.example.com\"]", "[]");
    assertThatThrownBy(() -> load(noHosts)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("webhook.allowed_hosts");
  }
}
