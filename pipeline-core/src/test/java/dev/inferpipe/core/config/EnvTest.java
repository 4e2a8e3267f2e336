package dev.inferpipe.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EnvTest {
  @Test
  void parsesTypedValuesAndFallsBackToDefaults() {
    Env env = Env.of(Map.of("A", "12", "B", "true", "C", "90s", "D", " x, y ,,z ", "E", " "));
    assertThat(env.integer("A", 0)).isEqualTo(12);
    assertThat(env.bool("B", false)).isTrue();
    assertThat(env.duration("C", Duration.ZERO)).isEqualTo(Duration.ofSeconds(90));
    assertThat(env.list("D", List.of())).containsExactly("x", "y", "z");
    assertThat(env.string("E", "blank means unset")).isEqualTo("blank means unset");
    assertThat(env.integer("MISSING", 7)).isEqualTo(7);
  }

  @Test
  void malformedValueNamesTheVariable() {
    Env env = Env.of(Map.of("PORT", "eighty", "FLAG", "yes", "TTL", "5 parsecs"));
    assertThatThrownBy(() -> env.integer("PORT", 1)).hasMessage("PORT must be an integer, got 'eighty'");
    assertThatThrownBy(() -> env.bool("FLAG", true)).hasMessageContaining("FLAG must be true or false");
    assertThatThrownBy(() -> env.duration("TTL", Duration.ZERO)).hasMessageContaining("TTL must be a duration");
  }

  @Test
  void topicsAndKafkaSecurityComeFromTheEnvironment() {
    Env env = Env.of(Map.of(
        Topics.REQUESTS_ENV, "team-a.requests",
        KafkaSettings.BOOTSTRAP_SERVERS_ENV, "b1:9098,b2:9098",
        KafkaSettings.SECURITY_PROTOCOL_ENV, "SASL_SSL",
        KafkaSettings.SASL_MECHANISM_ENV, "AWS_MSK_IAM",
        KafkaSettings.SASL_JAAS_CONFIG_ENV, "software.amazon.msk.auth.iam.IAMLoginModule required;"));
    assertThat(Topics.from(env).requests()).isEqualTo("team-a.requests");
    assertThat(Topics.from(env).status()).isEqualTo("inference.status");
    KafkaSettings kafka = KafkaSettings.from(env);
    assertThat(kafka.clientProperties()).containsEntry("bootstrap.servers", "b1:9098,b2:9098")
        .containsEntry("security.protocol", "SASL_SSL")
        .containsEntry("sasl.mechanism", "AWS_MSK_IAM")
        .containsKey("sasl.jaas.config");
    assertThat(kafka.toString()).doesNotContain("IAMLoginModule");
  }
}
