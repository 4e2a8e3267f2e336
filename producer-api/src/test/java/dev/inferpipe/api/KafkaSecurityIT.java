package dev.inferpipe.api;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.inferpipe.core.config.Env;
import dev.inferpipe.core.config.KafkaSettings;
import dev.inferpipe.core.config.Topics;
import dev.inferpipe.core.kafka.KafkaClients;
import dev.inferpipe.core.kafka.TopicProvisioner;
import dev.inferpipe.core.telemetry.Telemetry;
import dev.inferpipe.embedded.EmbeddedKafka;
import dev.inferpipe.embedded.SelfSignedTls;
import dev.inferpipe.embedded.TopicReader;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.api.OpenTelemetry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.Producer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Kafka security settings pass from the environment to every client: producer-api runs against a
 * broker listener that only speaks TLS + SASL/SCRAM-SHA-512 (both the transactional producer and
 * the status-table consumer must log in), a wrong password is refused, and neither the SASL
 * password nor the truststore password ever reaches a log line.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KafkaSecurityIT {
  private static final String USER = "inferpipe-api";
  private static final String PASSWORD = "scram-" + Long.toHexString(System.nanoTime());

  private SelfSignedTls tls;
  private EmbeddedKafka kafka;
  private final ListAppender<ILoggingEvent> logs = new ListAppender<>();
  private final Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
  private final Logger kafkaLogger = (Logger) LoggerFactory.getLogger("org.apache.kafka");
  private Level kafkaLevel;
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  void startSecuredBroker(@TempDir Path dir) throws Exception {
    tls = SelfSignedTls.generate(dir.resolve("tls"));
    kafka = EmbeddedKafka.create(dir.resolve("kafka"), 0)
        .withSaslSslListener(tls.keystore(), tls.keystorePassword()).start();
    kafka.createScramUser(USER, PASSWORD);
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
      TopicProvisioner.ensureTopics(admin, Topics.defaults(), 2, (short) 1);
    }
    // Kafka logs every client's full configuration at INFO: capture it, it is where a leak would be.
    kafkaLevel = kafkaLogger.getLevel();
    kafkaLogger.setLevel(Level.INFO);
    logs.start();
    root.addAppender(logs);
  }

  @AfterAll
  void stop() {
    root.detachAppender(logs);
    kafkaLogger.setLevel(kafkaLevel);
    kafka.close();
  }

  private Env securedEnv(String password) {
    Map<String, String> env = new HashMap<>();
    env.put(KafkaSettings.BOOTSTRAP_SERVERS_ENV, kafka.saslSslBootstrapServers());
    env.put(KafkaSettings.SECURITY_PROTOCOL_ENV, "SASL_SSL");
    env.put(KafkaSettings.SASL_MECHANISM_ENV, "SCRAM-SHA-512");
    env.put(KafkaSettings.SASL_JAAS_CONFIG_ENV,
        "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"" + USER
            + "\" password=\"" + password + "\";");
    env.put(KafkaSettings.SSL_TRUSTSTORE_LOCATION_ENV, tls.truststore().toString());
    env.put(KafkaSettings.SSL_TRUSTSTORE_PASSWORD_ENV, tls.truststorePassword());
    env.put("INFERPIPE_API_PORT", "0");
    env.put("INFERPIPE_API_PUBLISH_TIMEOUT", "5s");
    env.putAll(dev.inferpipe.core.config.DeploymentKeys.randomEnv());
    env.put("INFERPIPE_S3_ENDPOINT", "http://127.0.0.1:9");
    env.put("INFERPIPE_S3_PATH_STYLE", "true");
    return Env.of(env);
  }

  @Test
  void theApiPublishesAndReadsStatusesOverTlsWithScram() throws Exception {
    Env env = securedEnv(PASSWORD);
    try (Telemetry telemetry = Telemetry.builder(ProducerApi.SERVICE_NAME).env(env).build();
        ProducerApi api = ProducerApi.start(env, telemetry)) {
      awaitReady(api);
      HttpResponse<String> accepted = post(api, "{\"job_id\":\"secured-1\",\"task\":\"txt2img\","
          + "\"model_id\":\"tiny-shapes-diffusion\",\"input\":{\"prompt\":\"a red circle\"}}");
      assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(202);
      // Read back through the plaintext listener: the job really went through the TLS one.
      assertThat(TopicReader.awaitKey(kafka.bootstrapServers(), Topics.defaults().requests(),
          "secured-1", 1, Duration.ofSeconds(30))).isNotEmpty();
      // The status table logged in too: it serves the job's status.
      HttpResponse<String> status = get(api, "/v1/jobs/secured-1");
      assertThat(status.statusCode()).isEqualTo(200);
      assertThat(status.body()).contains("\"QUEUED\"");
    }
    assertNoSecretLogged();
  }

  @Test
  void aWrongPasswordIsRefusedAndNotLogged() throws Exception {
    String wrong = "not-the-password-" + Long.toHexString(System.nanoTime());
    Env env = securedEnv(wrong);
    try (Telemetry telemetry = Telemetry.builder(ProducerApi.SERVICE_NAME).env(env).build();
        ProducerApi api = ProducerApi.start(env, telemetry)) {
      HttpResponse<String> refused = post(api, "{\"job_id\":\"secured-2\",\"task\":\"txt2img\","
          + "\"model_id\":\"tiny-shapes-diffusion\",\"input\":{\"prompt\":\"a red circle\"}}");
      assertThat(refused.statusCode()).isEqualTo(503);
      assertThat(get(api, "/readyz").statusCode()).isEqualTo(503);
    }
    assertThat(text()).contains("Authentication failed");
    assertThat(text()).doesNotContain(wrong);
    assertNoSecretLogged();
  }

  @Test
  void mskIamSettingsBuildClientsWithTheIamLoginAndCallbackHandler() {
    // No MSK here (and no DNS for its brokers): constructing the client proves the login module
    // and callback handler named by the Helm chart and Terraform outputs are on the classpath and
    // accepted by kafka-clients, which logs in (IAMLoginModule) while it builds the channel.
    Env env = Env.of(Map.of(
        KafkaSettings.BOOTSTRAP_SERVERS_ENV, "localhost:9098",
        KafkaSettings.SECURITY_PROTOCOL_ENV, "SASL_SSL",
        KafkaSettings.SASL_MECHANISM_ENV, "AWS_MSK_IAM",
        KafkaSettings.SASL_JAAS_CONFIG_ENV, "software.amazon.msk.auth.iam.IAMLoginModule required;",
        KafkaSettings.SASL_CALLBACK_HANDLER_ENV,
        "software.amazon.msk.auth.iam.IAMClientCallbackHandler"));
    KafkaSettings settings = KafkaSettings.from(env);
    assertThat(settings.clientProperties()).containsEntry("sasl.mechanism", "AWS_MSK_IAM")
        .containsEntry("security.protocol", "SASL_SSL");
    try (KafkaClients clients = new KafkaClients(settings, "iam-check", OpenTelemetry.noop(),
        new SimpleMeterRegistry());
        Producer<String, byte[]> producer = clients.producer("iam", Map.of())) {
      assertThat(producer).isNotNull();
    }
    assertThat(settings.toString()).doesNotContain("IAMLoginModule");
  }

  private void assertNoSecretLogged() {
    String text = text();
    assertThat(text).as("Kafka's config dump was captured").contains("sasl.jaas.config = [hidden]");
    assertThat(text).doesNotContain(PASSWORD).doesNotContain(tls.truststorePassword())
        .doesNotContain(tls.keystorePassword());
  }

  private String text() {
    return logs.list.stream().map(e -> e.getFormattedMessage() + " "
            + (e.getKeyValuePairs() == null ? "" : e.getKeyValuePairs().toString()) + " "
            + (e.getThrowableProxy() == null ? "" : e.getThrowableProxy().getMessage()))
        .collect(Collectors.joining("\n"));
  }

  private void awaitReady(ProducerApi api) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline) {
      if (get(api, "/readyz").statusCode() == 200) {
        return;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("producer-api never became ready over SASL_SSL");
  }

  private HttpResponse<String> post(ProducerApi api, String body) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + api.port() + "/v1/jobs"))
        .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> get(ProducerApi api, String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + api.port() + path))
        .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
  }
}
