package dev.inferpipe.notifier;

import dev.inferpipe.core.job.JobCodec;
import dev.inferpipe.core.job.JobStatus;
import dev.inferpipe.core.job.WebhookState;
import dev.inferpipe.core.kafka.AckedSender;
import dev.inferpipe.core.kafka.HeaderNames;
import dev.inferpipe.core.kafka.StatusTable;
import dev.inferpipe.core.telemetry.Logging;
import dev.inferpipe.core.webhook.DeliveryTable;
import dev.inferpipe.core.webhook.WebhookDelivery;
import dev.inferpipe.core.webhook.WebhookKeys;
import dev.inferpipe.core.webhook.WebhookSignature;
import dev.inferpipe.core.webhook.WebhookSigning;
import dev.inferpipe.core.webhook.WebhookTarget;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.opentelemetry.context.propagation.TextMapGetter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs every pending delivery to its end. Each step is written to the webhooks topic (and
 * acknowledged) before the next: PENDING when a job's terminal status is first seen, then the
 * result of every attempt, so a restarted notifier resumes the schedule and never repeats a
 * delivered notification. The one window for a duplicate is a crash between a receiver's 2xx
 * and the DELIVERED write; receivers deduplicate on {@code Idempotency-Key}.
 *
 * <p>An attempt: the target is checked again (https, allow-list of the key or the deployment),
 * the body is the job's winning terminal status as the status table holds it, signed with the
 * key's secret; a 2xx delivers, anything else is retried with doubling, jittered backoff until
 * {@code retryFor} after the delivery was created (when the job's end was first seen), then
 * FAILED. A refused target is REFUSED at once.
 */
final class WebhookDispatcher implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(WebhookDispatcher.class);
  private static final String IDEMPOTENCY_KEY = "Idempotency-Key";
  private static final String EVENT = "X-Inferpipe-Event";
  private static final String ATTEMPT = "X-Inferpipe-Attempt";
  private static final Duration REPUBLISH_WAIT = Duration.ofSeconds(1);
  private static final Duration NOT_CAUGHT_UP_WAIT = Duration.ofSeconds(1);
  /** The longest wait a delivery can ask for (its window is an hour). */
  private static final Duration MAX_DELAY = Duration.ofDays(1);

  private final NotifierSettings settings;
  private final WebhookKeys keys;
  private final StatusTable statuses;
  private final DeliveryTable deliveries;
  private final AckedSender sender;
  private final WebhookClient client;
  private final JobCodec codec;
  private final Clock clock;
  private final DoubleSupplier jitter;
  private final Tracer tracer;
  private final OpenTelemetry otel;
  private final MeterRegistry registry;
  private final Timer attemptTimer;
  private final Timer latency;
  private final ScheduledExecutorService scheduler;
  private final ExecutorService workers;
  /** Jobs with an attempt scheduled or running here: a job is never in flight twice. */
  private final Set<String> scheduled = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;

  WebhookDispatcher(NotifierSettings settings, WebhookKeys keys, StatusTable statuses,
      DeliveryTable deliveries, AckedSender sender, WebhookClient client, JobCodec codec,
      Clock clock, DoubleSupplier jitter, OpenTelemetry otel, MeterRegistry registry) {
    this.settings = settings;
    this.keys = keys;
    this.statuses = statuses;
    this.deliveries = deliveries;
    this.sender = sender;
    this.client = client;
    this.codec = codec;
    this.clock = clock;
    this.jitter = jitter;
    this.otel = otel;
    this.tracer = otel.getTracer("dev.inferpipe.notifier");
    this.registry = registry;
    this.attemptTimer = Timer.builder("inference.webhook.attempt.duration").register(registry);
    this.latency = Timer.builder("inference.webhook.delivery.latency").register(registry);
    for (String outcome : List.of("delivered", "http_error", "no_answer", "refused")) {
      Counter.builder("inference.webhook.attempts").tag("outcome", outcome).register(registry);
    }
    for (WebhookState state : WebhookState.values()) {
      if (state.isFinal()) {
        Counter.builder("inference.webhook.deliveries").tag("state", state.name())
            .register(registry);
      }
    }
    Gauge.builder("inference.webhook.pending", scheduled, Set::size).register(registry);
    this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> thread(r, "webhook-scheduler"));
    this.workers = Executors.newFixedThreadPool(settings.concurrency(),
        r -> thread(r, "webhook-attempt"));
  }

  private static Thread thread(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  /** Schedules what a previous run left pending (the delivery table has caught up). */
  void resumePending() {
    List<WebhookDelivery> pending = deliveries.pending();
    if (!pending.isEmpty()) {
      log.atInfo().addKeyValue("event", "webhook.resumed").addKeyValue("deliveries", pending.size())
          .log("resuming {} pending webhook deliveries", pending.size());
    }
    pending.forEach(this::schedule);
  }

  /**
   * A job ended with a webhook: records the delivery as PENDING (acknowledged, so committing the
   * status record afterwards loses nothing) and schedules its first attempt.
   */
  void begin(WebhookDelivery delivery) {
    write(delivery);
    schedule(delivery);
  }

  private void schedule(WebhookDelivery delivery) {
    if (closed || !scheduled.add(delivery.jobId())) {
      return;
    }
    Duration wait = delivery.nextAttemptAt() == null ? Duration.ZERO
        : Duration.between(clock.instant(), delivery.nextAttemptAt());
    // Clamped: a record read back from the topic may name any instant.
    if (wait.isNegative()) {
      wait = Duration.ZERO;
    } else if (wait.compareTo(MAX_DELAY) > 0) {
      wait = MAX_DELAY;
    }
    later(delivery, wait.toMillis());
  }

  private void later(WebhookDelivery delivery, long delayMs) {
    try {
      scheduler.schedule(() -> workers.execute(() -> run(delivery)), delayMs,
          TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      scheduled.remove(delivery.jobId()); // closing: the topic keeps it PENDING for the next run
    }
  }

  private void run(WebhookDelivery delivery) {
    Logging.tagThread(WebhookNotifier.SERVICE_NAME);
    if (closed) {
      scheduled.remove(delivery.jobId());
      return; // no new attempt once closing; the topic keeps it PENDING for the next run
    }
    if (!statuses.isCaughtUp() || !deliveries.isCaughtUp()) {
      // Without the job's status (or its latest delivery) this attempt could not be judged.
      later(delivery, NOT_CAUGHT_UP_WAIT.toMillis());
      return;
    }
    WebhookDelivery next;
    try {
      next = attempt(delivery);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      scheduled.remove(delivery.jobId());
      return;
    } catch (RuntimeException e) {
      log.atWarn().addKeyValue("event", "webhook.attempt_error").addKeyValue("job_id", delivery.jobId())
          .setCause(e).log("webhook attempt failed unexpectedly");
      try {
        next = afterFailure(delivery, null, "internal error: " + e.getClass().getSimpleName());
      } catch (RuntimeException again) {
        next = delivery.refused("unreadable delivery record", clock.instant());
      }
    }
    if (!persist(next)) {
      scheduled.remove(delivery.jobId());
      return; // closing: the topic still says what was last written, a restart resumes from it
    }
    scheduled.remove(delivery.jobId());
    if (!next.state().isFinal()) {
      schedule(next);
    }
  }

  /**
   * Writes until Kafka acknowledges, or the notifier closes (the producer outlives this
   * dispatcher, so an attempt finishing during close is still written once).
   */
  private boolean persist(WebhookDelivery delivery) {
    while (true) {
      try {
        write(delivery);
        return true;
      } catch (RuntimeException e) {
        log.atWarn().addKeyValue("event", "webhook.write_retry").addKeyValue("job_id", delivery.jobId())
            .log("cannot record the webhook delivery yet: {}", e.toString());
        if (closed) {
          return false;
        }
        try {
          Thread.sleep(REPUBLISH_WAIT.toMillis());
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          return false;
        }
      }
    }
  }

  private void write(WebhookDelivery delivery) {
    RecordMetadata where = sender.send(new ProducerRecord<>(settings.topics().webhooks(), null,
        delivery.jobId(), codec.encode(delivery), new RecordHeaders()));
    deliveries.put(delivery, where);
  }

  private WebhookDelivery attempt(WebhookDelivery delivery) throws InterruptedException {
    Instant now = clock.instant();
    // Target and key come from the job's terminal status, never from the delivery record: the
    // webhooks topic decides only what was already done.
    Optional<JobStatus> status = statuses.get(delivery.jobId())
        .filter(s -> s.status() == delivery.status() && s.webhook() != null);
    if (status.isEmpty()) {
      count(WebhookState.FAILED);
      return delivery.failed(null, "the job's " + delivery.status() + " status is no longer known",
          null, now);
    }
    String target = status.get().webhook().url();
    String keyId = status.get().webhook().keyId();
    Optional<WebhookSigning> signing = WebhookSigning.of(keyId,
        keyId == null ? Optional.empty() : keys.get(keyId), settings.webhooks());
    if (signing.isEmpty()) {
      return refuse(delivery, WebhookSigning.missing(keyId));
    }
    Optional<String> refusal = WebhookTarget.refusal(target, signing.get().allowedHosts(),
        settings.webhooks().allowLoopback());
    if (refusal.isPresent()) {
      return refuse(delivery, "webhook_url " + refusal.get());
    }
    byte[] body = codec.encode(status.get());
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put(WebhookSignature.HEADER, WebhookSignature.sign(signing.get().secret(), body));
    headers.put(IDEMPOTENCY_KEY, delivery.idempotencyKey());
    headers.put(EVENT, "job." + delivery.status().name().toLowerCase(java.util.Locale.ROOT));
    headers.put(ATTEMPT, Integer.toString(delivery.attempts() + 1));
    URI url = URI.create(target);
    Span span = tracer.spanBuilder("POST").setSpanKind(SpanKind.CLIENT)
        .setParent(parent(delivery))
        .setAttribute("http.request.method", "POST")
        .setAttribute("server.address", url.getHost())
        .setAttribute("url.scheme", url.getScheme())
        .setAttribute("job.id", delivery.jobId())
        .setAttribute("webhook.attempt", delivery.attempts() + 1L)
        .startSpan();
    long started = System.nanoTime();
    Attempt result;
    try (Scope ignored = span.makeCurrent()) {
      result = client.post(url, body, headers);
    } finally {
      attemptTimer.record(System.nanoTime() - started, TimeUnit.NANOSECONDS);
    }
    try {
      if (result instanceof Attempt.Answered a && a.code() >= 200 && a.code() < 300) {
        span.setAttribute("http.response.status_code", a.code());
        attempts("delivered");
        count(WebhookState.DELIVERED);
        Instant ended = status.get().finishedAt() != null ? status.get().finishedAt()
            : delivery.createdAt();
        latency.record(Duration.between(ended, clock.instant()).abs());
        log.atInfo().addKeyValue("event", "webhook.delivered").addKeyValue("job_id", delivery.jobId())
            .addKeyValue("attempts", delivery.attempts() + 1).addKeyValue("code", a.code())
            .log("webhook delivered");
        return delivery.delivered(a.code(), clock.instant());
      }
      if (result instanceof Attempt.Answered a) {
        span.setAttribute("http.response.status_code", a.code());
        span.setStatus(StatusCode.ERROR, "HTTP " + a.code());
        attempts("http_error");
        return afterFailure(delivery, a.code(), a.code() >= 300 && a.code() < 400
            ? "HTTP " + a.code() + " (redirects are not followed)" : "HTTP " + a.code());
      }
      if (result instanceof Attempt.Refused r) {
        span.setStatus(StatusCode.ERROR, r.reason());
        return refuse(delivery, r.reason());
      }
      String error = ((Attempt.Failed) result).error();
      span.setStatus(StatusCode.ERROR, error);
      attempts("no_answer");
      return afterFailure(delivery, null, error);
    } finally {
      span.end();
    }
  }

  private WebhookDelivery refuse(WebhookDelivery delivery, String reason) {
    attempts("refused");
    count(WebhookState.REFUSED);
    log.atWarn().addKeyValue("event", "webhook.refused").addKeyValue("job_id", delivery.jobId())
        .log("webhook refused: {}", reason);
    return delivery.refused(reason, clock.instant());
  }

  /** Next attempt after doubling, jittered backoff; FAILED once it would fall past the window. */
  private WebhookDelivery afterFailure(WebhookDelivery delivery, Integer code, String error) {
    Instant now = clock.instant();
    int failures = delivery.attempts() + 1;
    long base = settings.firstBackoff().toMillis() << Math.min(failures - 1, 30);
    long capped = Math.min(base < 0 ? Long.MAX_VALUE : base, settings.maxBackoff().toMillis());
    long waitMs = (long) (capped * (0.5 + jitter.getAsDouble() / 2)); // equal jitter
    Instant next = now.plusMillis(waitMs);
    if (next.isAfter(delivery.createdAt().plus(settings.retryFor()))) {
      count(WebhookState.FAILED);
      log.atWarn().addKeyValue("event", "webhook.failed").addKeyValue("job_id", delivery.jobId())
          .addKeyValue("attempts", failures).log("webhook given up after {}: {}", settings.retryFor(),
              error);
      return delivery.failed(code, error, null, now);
    }
    return delivery.failed(code, error, next, now);
  }

  private void attempts(String outcome) {
    registry.counter("inference.webhook.attempts", "outcome", outcome).increment();
  }

  private void count(WebhookState state) {
    registry.counter("inference.webhook.deliveries", "state", state.name()).increment();
  }

  private Context parent(WebhookDelivery delivery) {
    if (delivery.traceparent() == null) {
      return Context.root();
    }
    return otel.getPropagators().getTextMapPropagator().extract(Context.root(),
        delivery.traceparent(), new TextMapGetter<String>() {
          @Override
          public Iterable<String> keys(String carrier) {
            return List.of(HeaderNames.TRACEPARENT);
          }

          @Override
          public String get(String carrier, String key) {
            return HeaderNames.TRACEPARENT.equals(key) ? carrier : null;
          }
        });
  }

  /** Stops scheduling; an attempt in progress finishes (bounded by the attempt timeout). */
  @Override
  public void close() {
    closed = true;
    scheduler.shutdownNow();
    workers.shutdown();
    try {
      if (!workers.awaitTermination(settings.attemptTimeout().toMillis() + 2000,
          TimeUnit.MILLISECONDS)) {
        workers.shutdownNow();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
