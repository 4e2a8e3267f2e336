package dev.inferpipe.core.telemetry;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.distribution.DistributionStatisticConfig;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Every meter the services register, in one place: its description (the HELP line), base unit,
 * the labels it may carry, and for histograms the bucket bounds chosen for what it measures.
 * {@link #filter()} applies it at registration, so a call site names a meter and its tags only.
 *
 * <p>Labels are bounded by construction: task, model (the models a deployment serves: a job
 * naming another is refused before any meter sees it), enums (outcome, status, code, result,
 * call), batch_size (at most the batch size), and route templates. Never job ids or tenants.
 */
public final class MetricCatalog {
  /** Queue wait and request duration: 10 ms to 30 min. */
  static final double[] JOB_SECONDS =
      {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600, 1800};
  /** One sampling / generate step: 1 ms to 10 s. */
  static final double[] STEP_SECONDS =
      {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  /** One S3 PutObject: 1 ms to 60 s. */
  static final double[] S3_SECONDS =
      {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  /** A model load (weights read, engines started): 10 ms to 10 min. */
  static final double[] LOAD_SECONDS = {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600};
  /** An API request: 1 ms to 10 s. */
  static final double[] HTTP_SECONDS =
      {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  /** Waiting for a free batch row: 1 ms to 10 min. */
  static final double[] JOIN_SECONDS =
      {0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600};
  /** A webhook's delivery, from the job's end: 10 ms to the 1 h retry window (and past it). */
  static final double[] WEBHOOK_SECONDS =
      {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600, 7200};
  /** Rows per model call. */
  static final double[] BATCH_ROWS = {1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64};

  /**
   * One meter. {@code buckets} are upper bounds in the base unit (seconds for timers); empty
   * for counters and gauges.
   */
  public record Entry(String name, Meter.Type type, String description, String baseUnit,
      List<String> labels, double[] buckets) {
    static Entry timer(String name, String description, double[] buckets, String... labels) {
      return new Entry(name, Meter.Type.TIMER, description, "seconds", List.of(labels), buckets);
    }

    static Entry summary(String name, String unit, String description, double[] buckets,
        String... labels) {
      return new Entry(name, Meter.Type.DISTRIBUTION_SUMMARY, description, unit, List.of(labels),
          buckets);
    }

    static Entry counter(String name, String unit, String description, String... labels) {
      return new Entry(name, Meter.Type.COUNTER, description, unit, List.of(labels), new double[0]);
    }

    static Entry gauge(String name, String unit, String description, String... labels) {
      return new Entry(name, Meter.Type.GAUGE, description, unit, List.of(labels), new double[0]);
    }
  }

  private static final Map<String, Entry> ENTRIES = index(
      // gpu-consumer
      Entry.timer("inference.queue.wait", "Time a job waited in the requests topic: from the"
          + " record's enqueued_at until a worker took it", JOB_SECONDS, "task", "model"),
      Entry.timer("inference.request.duration", "Time from a job's admission on a worker until"
          + " its outputs were acknowledged: joining a batch, model load, sampling, publishing",
          JOB_SECONDS, "task", "model", "status"),
      Entry.timer("inference.sampling.step", "One diffusion step or VQA decoder step: a model"
          + " call over batch_size rows, with the rows' updates", STEP_SECONDS,
          "task", "model", "batch_size"),
      Entry.timer("inference.batch.join.wait", "Time from admission until the job's row joins"
          + " a batch (waiting for a free row)", JOIN_SECONDS, "model"),
      Entry.summary("inference.batch.size", "rows", "Rows per model call", BATCH_ROWS,
          "model", "call"),
      Entry.gauge("inference.batch.active.rows", "rows", "Rows in the running batches"),
      Entry.gauge("inference.batch.waiting.jobs", "jobs", "Admitted jobs waiting to join a batch"),
      Entry.timer("inference.model.load", "Model loads on a cache miss: files read, engines"
          + " started, warm-up", LOAD_SECONDS, "model"),
      Entry.counter("inference.model.cache.requests", "requests", "Model cache lookups by"
          + " result", "result"),
      Entry.gauge("inference.model.cache.hit.ratio", "ratio", "Model cache hits / lookups"),
      Entry.counter("inference.tokens", "tokens", "VQA answer tokens generated", "model"),
      Entry.counter("inference.jobs", "jobs", "Jobs by how they ended here (gpu-consumer:"
          + " outcome; storage-sink: the terminal status it published)",
          "task", "model", "outcome", "status"),
      Entry.counter("inference.dlq.records", "records", "Records sent to the dead-letter"
          + " topic, by error code", "code"),
      Entry.gauge("inference.partitions.paused", null, "Request partitions paused because"
          + " INFERPIPE_MAX_JOBS_IN_MEMORY records are in hand"),
      Entry.gauge("process.memory.peak.bytes", "bytes", "Peak resident memory (VmHWM),"
          + " native model memory included"),
      // storage-sink
      Entry.timer("inference.s3.put", "S3 PutObject latency of successful attempts", S3_SECONDS),
      Entry.counter("inference.s3.put.bytes", "bytes", "Bytes written to S3"),
      Entry.counter("inference.s3.put.failures", null, "Failed S3 PutObject attempts"),
      Entry.counter("inference.s3.put.retries", null, "Failed S3 PutObject attempts that"
          + " were retried with backoff"),
      Entry.counter("inference.sink.duplicates", null, "Outputs of jobs that had already"
          + " ended, skipped"),
      // webhook-notifier
      Entry.counter("inference.webhook.attempts", null, "Webhook POSTs by outcome:"
          + " delivered (2xx), http_error (any other status, redirects included), no_answer"
          + " (DNS, connect, TLS, timeout), refused (target not allowed; nothing sent)", "outcome"),
      Entry.counter("inference.webhook.deliveries", "deliveries", "Webhook deliveries by how"
          + " they ended: DELIVERED, FAILED (retry window passed), REFUSED", "state"),
      Entry.gauge("inference.webhook.pending", null, "Webhook deliveries scheduled or"
          + " in flight on this notifier"),
      Entry.timer("inference.webhook.attempt.duration", "One webhook POST, connect to answer",
          HTTP_SECONDS),
      Entry.timer("inference.webhook.delivery.latency", "From a job's end until its webhook"
          + " got a 2xx", WEBHOOK_SECONDS),
      // producer-api
      Entry.timer("http.server.requests", "HTTP requests served, by route template and status",
          HTTP_SECONDS, "method", "route", "status"),
      Entry.counter("inference.submissions", null, "Job submissions by outcome and error code",
          "outcome", "code"),
      Entry.gauge("inference.status.store.jobs", "jobs", "Jobs in the status table"),
      // every service
      Entry.gauge("inference.worker.ready", null, "1 while the service answers /readyz with"
          + " 200, else 0"),
      Entry.gauge("inference.status.table.staleness", "seconds", "Seconds since this"
          + " service's status-table reader last reached the broker (normally under 10)"));

  /** Labels every meter carries (the registry's common tags). */
  public static final Set<String> COMMON_LABELS = Set.of("service");

  private MetricCatalog() {}

  private static Map<String, Entry> index(Entry... entries) {
    Map<String, Entry> byName = new LinkedHashMap<>();
    for (Entry entry : entries) {
      if (byName.put(entry.name(), entry) != null) {
        throw new IllegalStateException("meter listed twice: " + entry.name());
      }
    }
    return java.util.Collections.unmodifiableMap(byName); // in the order listed
  }

  public static List<Entry> entries() {
    return List.copyOf(ENTRIES.values());
  }

  /**
   * Sets each catalogued meter's description and unit, and replaces Micrometer's ~70 default
   * percentile buckets by the chosen ones. A meter the catalogue does not know (JVM, Kafka
   * client) keeps its own, and gets a HELP line even when its library gave none.
   */
  public static MeterFilter filter() {
    return new MeterFilter() {
      @Override
      public Meter.Id map(Meter.Id id) {
        Entry entry = ENTRIES.get(id.getName());
        if (entry != null) {
          return new Meter.Id(id.getName(), io.micrometer.core.instrument.Tags.of(id.getTags()),
              entry.type() == Meter.Type.TIMER ? id.getBaseUnit() : entry.baseUnit(),
              entry.description(), id.getType());
        }
        String description = id.getDescription();
        if (description == null || description.isBlank()) {
          return new Meter.Id(id.getName(), io.micrometer.core.instrument.Tags.of(id.getTags()),
              id.getBaseUnit(), fallbackDescription(id.getName()), id.getType());
        }
        return id;
      }

      @Override
      public DistributionStatisticConfig configure(Meter.Id id, DistributionStatisticConfig config) {
        Entry entry = ENTRIES.get(id.getName());
        if (entry == null || entry.buckets().length == 0) {
          return config;
        }
        // Timers record nanoseconds internally; their bucket bounds are given in seconds.
        double scale = entry.type() == Meter.Type.TIMER ? Duration.ofSeconds(1).toNanos() : 1;
        double[] bounds = Arrays.stream(entry.buckets()).map(b -> b * scale).toArray();
        return DistributionStatisticConfig.builder()
            .percentilesHistogram(false)
            .serviceLevelObjectives(bounds)
            .build()
            .merge(config);
      }
    };
  }

  /** Kafka's client metrics name their group; a few ship without a description. */
  static String fallbackDescription(String name) {
    if (name.startsWith("kafka.")) {
      return "Kafka client metric " + name + " (see the Kafka client monitoring docs)";
    }
    return "Metric " + name;
  }
}
