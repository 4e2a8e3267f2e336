package dev.inferpipe.embedded;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.server.common.MetadataVersion;

/**
 * A real single-node Kafka broker (KRaft, combined broker + controller) running in this JVM. The
 * log directory survives {@link #stop()} so the broker can be restarted on the same ports with its
 * data, which is how tests simulate a broker outage.
 */
public final class EmbeddedKafka implements AutoCloseable {
  private static final String CONTROLLER_LISTENER = "CONTROLLER";

  private static final String SECURED_LISTENER = "SASL_SSL";

  /** A TLS listener with SCRAM-SHA-512 logins, as MSK offers it; the key pair is in a PKCS12 store. */
  private record SecuredListener(int port, Path keystore, String keystorePassword) {}

  private final Path logDir;
  private final int port;
  private final int controllerPort;
  private volatile SecuredListener secured;
  private KafkaRaftServer server;

  private EmbeddedKafka(Path logDir, int port, int controllerPort) {
    this.logDir = logDir;
    this.port = port;
    this.controllerPort = controllerPort;
  }

  /**
   * @param logDir where topic data lives; formatted on first start
   * @param port the client port; 0 picks a free one (fixed for the life of this object)
   */
  public static EmbeddedKafka create(Path logDir, int port) {
    return new EmbeddedKafka(logDir, port == 0 ? freePort() : port, freePort());
  }

  /**
   * Adds a SASL_SSL listener (TLS with the key in {@code keystore}, SCRAM-SHA-512 logins created
   * with {@link #createScramUser}) next to the PLAINTEXT one. Call before {@link #start()}.
   */
  public EmbeddedKafka withSaslSslListener(Path keystore, String keystorePassword) {
    secured = new SecuredListener(freePort(), keystore, keystorePassword);
    return this;
  }

  /** The SASL_SSL listener's address; only with {@link #withSaslSslListener}. */
  public String saslSslBootstrapServers() {
    if (secured == null) {
      throw new IllegalStateException("no SASL_SSL listener configured");
    }
    return "localhost:" + secured.port();
  }

  /** Creates (or replaces) a SCRAM-SHA-512 login, through the PLAINTEXT listener. */
  public void createScramUser(String user, String password) {
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrapServers()))) {
      admin.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion(user,
          new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), password)))
          .all().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("cannot create SCRAM user " + user, e);
    }
  }

  public synchronized EmbeddedKafka start() {
    if (server != null) {
      return this;
    }
    try {
      Files.createDirectories(logDir);
      KafkaConfig config = KafkaConfig.fromProps(brokerProperties(), false);
      if (!Files.exists(logDir.resolve("meta.properties"))) {
        new Formatter()
            .setNodeId(1)
            .setClusterId(Uuid.randomUuid().toString())
            .addDirectory(logDir.toString())
            .setMetadataLogDirectory(logDir.toString())
            .setReleaseVersion(MetadataVersion.LATEST_PRODUCTION)
            .setControllerListenerName(CONTROLLER_LISTENER)
            .setPrintStream(new java.io.PrintStream(java.io.OutputStream.nullOutputStream()))
            .run();
      }
      KafkaRaftServer raftServer = new KafkaRaftServer(config, Time.SYSTEM);
      raftServer.startup();
      server = raftServer;
      return this;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (Exception e) {
      throw new IllegalStateException("embedded Kafka failed to start on port " + port, e);
    }
  }

  private Properties brokerProperties() {
    Properties props = new Properties();
    props.put("process.roles", "broker,controller");
    props.put("node.id", "1");
    props.put("controller.quorum.voters", "1@localhost:" + controllerPort);
    String listeners = "PLAINTEXT://localhost:" + port;
    String protocols = "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT";
    SecuredListener tls = secured;
    if (tls != null) {
      listeners += "," + SECURED_LISTENER + "://localhost:" + tls.port();
      protocols += "," + SECURED_LISTENER + ":SASL_SSL";
      String prefix = "listener.name." + SECURED_LISTENER.toLowerCase(java.util.Locale.ROOT) + ".";
      props.put("sasl.enabled.mechanisms", "SCRAM-SHA-512");
      props.put(prefix + "scram-sha-512.sasl.jaas.config",
          "org.apache.kafka.common.security.scram.ScramLoginModule required;");
      props.put(prefix + "ssl.keystore.location", tls.keystore().toString());
      props.put(prefix + "ssl.keystore.password", tls.keystorePassword());
      props.put(prefix + "ssl.keystore.type", "PKCS12");
    }
    props.put("listeners", listeners + "," + CONTROLLER_LISTENER + "://localhost:" + controllerPort);
    props.put("advertised.listeners", listeners);
    props.put("controller.listener.names", CONTROLLER_LISTENER);
    props.put("listener.security.protocol.map", protocols);
    props.put("inter.broker.listener.name", "PLAINTEXT");
    props.put("log.dirs", logDir.toString());
    props.put("num.partitions", "1");
    props.put("auto.create.topics.enable", "false");
    props.put("offsets.topic.replication.factor", "1");
    props.put("offsets.topic.num.partitions", "4");
    props.put("transaction.state.log.replication.factor", "1");
    props.put("transaction.state.log.min.isr", "1");
    props.put("transaction.state.log.num.partitions", "4");
    props.put("group.initial.rebalance.delay.ms", "0");
    // The default 128 MiB cleaner buffer is sized for servers, not for a laptop or CI runner.
    props.put("log.cleaner.dedupe.buffer.size", "8388608");
    props.put("log.cleaner.backoff.ms", "1000");
    props.put("share.coordinator.state.topic.replication.factor", "1");
    props.put("share.coordinator.state.topic.min.isr", "1");
    return props;
  }

  public String bootstrapServers() {
    return "localhost:" + port;
  }

  public int port() {
    return port;
  }

  public synchronized boolean isRunning() {
    return server != null;
  }

  /** Stops the broker, keeping its data; {@link #start()} brings it back on the same port. */
  public synchronized void stop() {
    if (server != null) {
      server.shutdown();
      server.awaitShutdown();
      server = null;
    }
  }

  @Override
  public void close() {
    stop();
  }

  public static int freePort() {
    try (ServerSocket socket = new ServerSocket(0)) {
      socket.setReuseAddress(true);
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
