package dev.inferpipe.core.config;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.config.SslConfigs;

/**
 * Connection settings shared by every Kafka client of a service. Security settings map one to one
 * onto the kafka-clients keys, so TLS, SASL/SCRAM and AWS MSK IAM (via its callback handler) all
 * pass through without code changes.
 */
public record KafkaSettings(
    String bootstrapServers,
    Optional<String> securityProtocol,
    Optional<String> saslMechanism,
    Optional<String> saslJaasConfig,
    Optional<String> saslClientCallbackHandlerClass,
    Optional<String> sslTruststoreLocation,
    Optional<String> sslTruststorePassword) {

  public static final String BOOTSTRAP_SERVERS_ENV = "KAFKA_BOOTSTRAP_SERVERS";
  public static final String SECURITY_PROTOCOL_ENV = "KAFKA_SECURITY_PROTOCOL";
  public static final String SASL_MECHANISM_ENV = "KAFKA_SASL_MECHANISM";
  public static final String SASL_JAAS_CONFIG_ENV = "KAFKA_SASL_JAAS_CONFIG";
  public static final String SASL_CALLBACK_HANDLER_ENV = "KAFKA_SASL_CLIENT_CALLBACK_HANDLER_CLASS";
  public static final String SSL_TRUSTSTORE_LOCATION_ENV = "KAFKA_SSL_TRUSTSTORE_LOCATION";
  public static final String SSL_TRUSTSTORE_PASSWORD_ENV = "KAFKA_SSL_TRUSTSTORE_PASSWORD";

  public static KafkaSettings from(Env env) {
    return new KafkaSettings(
        env.string(BOOTSTRAP_SERVERS_ENV, "localhost:9092"),
        env.get(SECURITY_PROTOCOL_ENV),
        env.get(SASL_MECHANISM_ENV),
        env.get(SASL_JAAS_CONFIG_ENV),
        env.get(SASL_CALLBACK_HANDLER_ENV),
        env.get(SSL_TRUSTSTORE_LOCATION_ENV),
        env.get(SSL_TRUSTSTORE_PASSWORD_ENV));
  }

  public static KafkaSettings plaintext(String bootstrapServers) {
    return new KafkaSettings(bootstrapServers, Optional.empty(), Optional.empty(),
        Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty());
  }

  /** The kafka-clients properties these settings stand for. */
  public Map<String, Object> clientProperties() {
    Map<String, Object> props = new HashMap<>();
    props.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    securityProtocol.ifPresent(v -> props.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, v));
    saslMechanism.ifPresent(v -> props.put(SaslConfigs.SASL_MECHANISM, v));
    saslJaasConfig.ifPresent(v -> props.put(SaslConfigs.SASL_JAAS_CONFIG, v));
    saslClientCallbackHandlerClass.ifPresent(
        v -> props.put(SaslConfigs.SASL_CLIENT_CALLBACK_HANDLER_CLASS, v));
    sslTruststoreLocation.ifPresent(v -> props.put(SslConfigs.SSL_TRUSTSTORE_LOCATION_CONFIG, v));
    sslTruststorePassword.ifPresent(v -> props.put(SslConfigs.SSL_TRUSTSTORE_PASSWORD_CONFIG, v));
    return props;
  }

  // The JAAS config and truststore password are secrets: keep them out of logs.
  @Override
  public String toString() {
    return "KafkaSettings[bootstrapServers=" + bootstrapServers + ", securityProtocol="
        + securityProtocol.orElse("PLAINTEXT") + ", saslMechanism=" + saslMechanism.orElse("-")
        + "]";
  }
}
