package dev.inferpipe.notifier;

import dev.inferpipe.core.config.Env;
import dev.inferpipe.core.job.JobCodec;
import dev.inferpipe.core.kafka.RecordLoop;
import dev.inferpipe.core.kafka.StatusTable;
import dev.inferpipe.core.telemetry.Telemetry;
import dev.inferpipe.core.webhook.DeliveryTable;
import dev.inferpipe.core.webhook.WebhookKeys;
import dev.inferpipe.core.worker.Worker;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.Consumer;

/**
 * webhook-notifier: reads the status topic in its own consumer group and POSTs each job's
 * terminal status to the job's {@code webhook_url}. Its state is the compacted webhooks topic
 * (one {@code WebhookDelivery} per job), read back in full before it takes a record, so a
 * restart resumes pending deliveries and repeats no delivered one. Run one replica (the chart
 * does, with the Recreate strategy): deliveries are not split between replicas.
 */
public final class WebhookNotifier implements AutoCloseable {
  public static final String SERVICE_NAME = "webhook-notifier";

  private final Worker worker;
  private final java.util.concurrent.atomic.AtomicBoolean stopping =
      new java.util.concurrent.atomic.AtomicBoolean();

  private WebhookNotifier(NotifierSettings settings, Telemetry telemetry, HostResolver resolver) {
    JobCodec codec = new JobCodec();
    WebhookKeys keys = settings.apiKeysFile().map(f -> WebhookKeys.load(f, codec))
        .orElse(WebhookKeys.none());
    Worker.Clients clients = Worker.clients(SERVICE_NAME, telemetry, settings.kafka(),
        settings.topics(), codec, "webhooks");
    StatusTable statuses = clients.statuses();
    DeliveryTable deliveries = new DeliveryTable(SERVICE_NAME, clients.kafka(),
        settings.topics().webhooks(), codec);
    WebhookClient client = new WebhookClient(resolver, settings.webhooks().allowLoopback(),
        settings.connectTimeout(), settings.attemptTimeout());
    SecureRandom jitter = new SecureRandom();
    WebhookDispatcher dispatcher = new WebhookDispatcher(settings, keys, statuses, deliveries,
        clients.sender(), client, codec, Clock.systemUTC(), jitter::nextDouble,
        telemetry.openTelemetry(), telemetry.meterRegistry());
    TerminalStatuses handler = new TerminalStatuses(codec, statuses, deliveries, dispatcher,
        Clock.systemUTC());
    Consumer<String, byte[]> consumer = clients.consumer("status", settings.groupId(), 100,
        Duration.ofMinutes(5));
    RecordLoop loop = new RecordLoop(SERVICE_NAME, consumer, settings.topics().status(), () -> {
      // Know every delivery and every status before deciding what is new: without them a
      // redelivered status would start a second delivery, and a pending one would be missed.
      deliveries.start();
      try {
        while (!(statuses.isCaughtUp() && deliveries.isCaughtUp())) {
          if (stopping.get()) {
            return;
          }
          statuses.awaitCaughtUp(Duration.ofSeconds(1));
          deliveries.awaitCaughtUp(Duration.ofSeconds(1));
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
      dispatcher.resumePending();
    }, handler::handle, handler::poison);
    this.worker = clients.serve(loop, settings.managementPort(),
        () -> deliveries.isCaughtUp() && deliveries.isHealthy(),
        () -> deliveries.isCaughtUp() ? Map.of() : Map.of("webhooks", "webhook table catching up"),
        List.of(dispatcher, deliveries, client), List.of());
  }

  public static WebhookNotifier start(Env env, Telemetry telemetry) {
    return start(env, telemetry, HostResolver.system());
  }

  /** @param resolver how host names are resolved (tests map names to chosen addresses) */
  public static WebhookNotifier start(Env env, Telemetry telemetry, HostResolver resolver) {
    WebhookNotifier notifier = new WebhookNotifier(NotifierSettings.from(env), telemetry, resolver);
    notifier.worker.start();
    return notifier;
  }

  public int managementPort() {
    return worker.managementPort();
  }

  /** Stops taking statuses, lets attempts in flight finish and be recorded, then stops. */
  @Override
  public void close() {
    stopping.set(true);
    worker.close();
  }
}
