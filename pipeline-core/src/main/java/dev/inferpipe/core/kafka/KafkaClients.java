package dev.inferpipe.core.kafka;

import dev.inferpipe.core.config.KafkaSettings;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.instrumentation.kafkaclients.v2_6.KafkaTelemetry;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Creates a service's Kafka clients: keys are job ids (strings), values raw bytes. Producers are
 * wrapped with opentelemetry-kafka-clients: every send is a PRODUCER span and injects
 * {@code traceparent} into the record. Consumers are not wrapped: the library would open its own
 * process span around each record, next to the one the services create themselves (which carries
 * the job's attributes and sits beside {@code queue.wait}); the services continue the trace with
 * {@link HeadersPropagation} instead. Client metrics (including consumer lag) of both are bound to
 * the service's meter registry, and unbound (meters removed) when the client is closed.
 */
public final class KafkaClients implements AutoCloseable {
  private final KafkaSettings settings;
  private final String clientIdPrefix;
  private final KafkaTelemetry telemetry;
  private final MeterRegistry registry;
  private final List<Binder> boundMetrics = new CopyOnWriteArrayList<>();
  /**
   * How often a client's binder looks for new Kafka metrics. Per-partition ones (records-lag of
   * each assigned partition) exist only after assignment; Micrometer's default looks every 60 s.
   */
  static final java.time.Duration METRICS_REFRESH = java.time.Duration.ofSeconds(10);

  /** A client's metrics binder and the thread that refreshes it; closing stops both. */
  private record Binder(KafkaClientMetrics metrics, java.util.concurrent.ScheduledExecutorService refresh) {
    void close() {
      metrics.close();
      refresh.shutdownNow();
    }
  }

  private static java.util.concurrent.ScheduledExecutorService refreshThread() {
    return java.util.concurrent.Executors.newSingleThreadScheduledExecutor(runnable -> {
      Thread thread = new Thread(runnable, "micrometer-kafka-metrics");
      thread.setDaemon(true);
      return thread;
    });
  }

  public KafkaClients(
      KafkaSettings settings, String clientIdPrefix, OpenTelemetry openTelemetry,
      MeterRegistry registry) {
    this.settings = settings;
    this.clientIdPrefix = clientIdPrefix;
    this.telemetry = KafkaTelemetry.create(openTelemetry);
    this.registry = registry;
  }

  public KafkaSettings settings() {
    return settings;
  }

  /** A traced producer; {@code overrides} are kafka-clients producer configs. */
  public Producer<String, byte[]> producer(String name, Map<String, Object> overrides) {
    Map<String, Object> props = new HashMap<>(settings.clientProperties());
    props.put(ProducerConfig.CLIENT_ID_CONFIG, clientIdPrefix + "-" + name);
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    props.putAll(overrides);
    Producer<String, byte[]> producer = new KafkaProducer<>(props);
    var refresh = refreshThread();
    Binder metrics = bind(new Binder(new KafkaClientMetrics(producer,
        List.of(Tag.of("client", name)), refresh, METRICS_REFRESH), refresh));
    return unbindingOnClose(Producer.class, telemetry.wrap(producer), metrics);
  }

  /** A consumer with metrics bound; {@code overrides} are kafka-clients consumer configs. */
  public Consumer<String, byte[]> consumer(String name, Map<String, Object> overrides) {
    Map<String, Object> props = new HashMap<>(settings.clientProperties());
    props.put(ConsumerConfig.CLIENT_ID_CONFIG, clientIdPrefix + "-" + name);
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
    props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.putAll(overrides);
    Consumer<String, byte[]> consumer = new KafkaConsumer<>(props);
    var refresh = refreshThread();
    Binder metrics = bind(new Binder(new KafkaClientMetrics(consumer,
        List.of(Tag.of("client", name)), refresh, METRICS_REFRESH), refresh));
    return unbindingOnClose(Consumer.class, consumer, metrics);
  }

  public Admin admin(Map<String, Object> overrides) {
    Map<String, Object> props = new HashMap<>(settings.clientProperties());
    props.put("client.id", clientIdPrefix + "-admin");
    props.putAll(overrides);
    return Admin.create(props);
  }

  /** The service's registry, for meters of the Kafka-backed parts (the status table). */
  MeterRegistry registry() {
    return registry;
  }

  private Binder bind(Binder metrics) {
    metrics.metrics().bindTo(registry);
    boundMetrics.add(metrics);
    return metrics;
  }

  /**
   * The client as {@code type}, with every {@code close(...)} also closing its metrics binder:
   * that stops the binder's thread and removes its meters. Without this a client re-created after
   * each failure (the API's transactional producer during an outage) would leave one binder, one
   * thread and its meters behind per attempt until the service stops.
   */
  @SuppressWarnings("unchecked")
  private <T> T unbindingOnClose(Class<? super T> type, T client, Binder metrics) {
    InvocationHandler handler = (proxy, method, args) -> {
      if (method.getDeclaringClass() == Object.class) {
        return switch (method.getName()) {
          case "equals" -> proxy == args[0];
          case "hashCode" -> System.identityHashCode(proxy);
          default -> client.toString();
        };
      }
      try {
        return method.invoke(client, args);
      } catch (InvocationTargetException e) {
        throw e.getCause();
      } finally {
        if (method.getName().equals("close")) {
          metrics.close();
          boundMetrics.remove(metrics);
        }
      }
    };
    return (T) Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, handler);
  }

  /** Unbinds the metrics of clients not closed yet; the clients are closed by their owners. */
  @Override
  public void close() {
    boundMetrics.forEach(Binder::close);
    boundMetrics.clear();
  }
}
