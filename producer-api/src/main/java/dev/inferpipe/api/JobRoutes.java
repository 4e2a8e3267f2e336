package dev.inferpipe.api;

import dev.inferpipe.core.kafka.StatusTable;
import dev.inferpipe.core.job.ErrorCode;
import dev.inferpipe.core.job.FieldError;
import dev.inferpipe.core.job.InvalidJobException;
import dev.inferpipe.core.job.JobId;
import dev.inferpipe.core.job.JobState;
import dev.inferpipe.core.job.JobStatus;
import dev.inferpipe.core.webhook.DeliveryTable;
import dev.inferpipe.core.s3.S3Uri;
import dev.inferpipe.core.telemetry.SpanStore;
import dev.inferpipe.core.telemetry.SpanView;
import dev.inferpipe.core.telemetry.TraceWaterfall;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The job endpoints: submit, poll, fetch the result. */
final class JobRoutes {
  private static final Logger log = LoggerFactory.getLogger(JobRoutes.class);

  private final JobSubmitter submitter;
  private final StatusTable store;
  private final ResultLinks links;
  private final long maxBodyBytes;
  private final MeterRegistry registry;
  private final Optional<SpanStore> spanStore;
  private final Optional<ApiKeys> keys;
  private final RateLimiter limiter;
  private final DeliveryTable deliveries;

  /** Who is calling: the key, or empty when the API runs without keys (local default). */
  record Caller(Optional<ApiKey> key) {
    String tenant() {
      return key.map(ApiKey::tenant).orElse(null);
    }
  }

  JobRoutes(JobSubmitter submitter, StatusTable store, ResultLinks links, long maxBodyBytes,
      MeterRegistry registry, Optional<SpanStore> spanStore, Optional<ApiKeys> keys,
      RateLimiter limiter, DeliveryTable deliveries) {
    this.deliveries = deliveries;
    this.submitter = submitter;
    this.store = store;
    this.links = links;
    this.maxBodyBytes = maxBodyBytes;
    this.registry = registry;
    this.spanStore = spanStore;
    this.keys = keys;
    this.limiter = limiter;
  }

  private static final String CALLER = "inferpipe.caller";

  /**
   * The route table's authentication step, run before a request is traced: true with the caller
   * stored on the request, or false after answering 401 / 403 (nothing is recorded for it then).
   */
  boolean admit(Context ctx) {
    Optional<Caller> caller = authenticate(ctx);
    caller.ifPresent(c -> ctx.attribute(CALLER, c));
    return caller.isPresent();
  }

  private static Caller caller(Context ctx) {
    Caller caller = ctx.attribute(CALLER);
    if (caller == null) {
      throw new IllegalStateException("route not behind admit()");
    }
    return caller;
  }

  /** Answers 401 / 403 and returns empty unless the request carries a valid key (when keys are on). */
  private Optional<Caller> authenticate(Context ctx) {
    if (keys.isEmpty()) {
      return Optional.of(new Caller(Optional.empty()));
    }
    String authorization = ctx.header("Authorization");
    Optional<String> presented = authorization != null && authorization.startsWith("Bearer ")
        ? Optional.of(authorization.substring("Bearer ".length()).trim())
        : Optional.ofNullable(ctx.header("X-API-Key"));
    ApiKeys.Check check = keys.get().check(presented);
    if (check instanceof ApiKeys.Valid valid) {
      return Optional.of(new Caller(Optional.of(valid.key())));
    }
    if (check instanceof ApiKeys.Disabled) {
      ApiResponses.error(ctx, 403, ApiError.of("KEY_DISABLED", "this API key is disabled"));
    } else {
      ctx.header("WWW-Authenticate", "Bearer");
      ApiResponses.error(ctx, 401, ApiError.of("UNAUTHENTICATED", check instanceof ApiKeys.Missing
          ? "an API key is required (Authorization: Bearer <key> or X-API-Key)"
          : "unknown API key"));
    }
    return Optional.empty();
  }

  record Accepted(String jobId, JobState status, String statusUrl, String outputLocation) {}

  record Result(String jobId, JobState status, String outputLocation, String url,
      Long expiresInSeconds, String answer) {}

  /** POST /v1/jobs */
  void submit(Context ctx) {
    Caller caller = caller(ctx);
    if (caller.key().isPresent() && !withinLimits(ctx, caller.key().get())) {
      return;
    }
    long declared = ctx.contentLength();
    if (declared > maxBodyBytes) {
      tooLarge(ctx);
      return;
    }
    String type = ctx.contentType();
    if (type == null || !type.toLowerCase(Locale.ROOT).startsWith("application/json")) {
      count("rejected", "UNSUPPORTED_MEDIA_TYPE");
      ApiResponses.error(ctx, 415, ApiError.of("UNSUPPORTED_MEDIA_TYPE",
          "Content-Type must be application/json, got " + (type == null ? "none" : "'" + type + "'")));
      return;
    }
    byte[] body;
    try {
      body = ctx.bodyAsBytes();
    } catch (HttpResponseException e) {
      tooLarge(ctx); // a chunked body that grew past the limit
      return;
    }
    if (body.length > maxBodyBytes) {
      tooLarge(ctx);
      return;
    }
    try {
      SubmitResult result = submitter.submit(body, caller.key());
      JobStatus status = result.status();
      count(result.duplicate() ? "duplicate" : "accepted", "");
      ctx.header("Location", statusUrl(status.jobId()));
      ApiResponses.json(ctx, 202, new Accepted(status.jobId(), status.status(),
          statusUrl(status.jobId()), status.outputLocation()));
    } catch (InvalidJobException e) {
      count("rejected", e.code().name());
      log.atInfo().addKeyValue("event", "job.rejected").addKeyValue("error_code", e.code().name())
          .addKeyValue("fields", e.fieldErrors().stream().map(FieldError::field).toList())
          .log("job rejected");
      ApiResponses.error(ctx, 400, new ApiError(e.code().name(), describe(e), e.fieldErrors()));
    } catch (JobIdConflictException e) {
      count("conflict", ErrorCode.JOB_ID_CONFLICT.name());
      ApiResponses.error(ctx, 409, new ApiError(ErrorCode.JOB_ID_CONFLICT.name(), e.getMessage(),
          List.of(new FieldError("job_id", "conflict", e.getMessage()))));
    } catch (PublishFailedException e) {
      count("unavailable", ErrorCode.UNAVAILABLE.name());
      log.atWarn().addKeyValue("event", "job.publish_failed").setCause(e.getCause())
          .log("Kafka unavailable; job not queued");
      ctx.header("Retry-After", "5");
      ApiResponses.error(ctx, 503, ApiError.of(ErrorCode.UNAVAILABLE.name(),
          "the job queue is unavailable; nothing was queued, retry later"));
    }
  }

  /** Per-key rate and per-tenant queue bound; answers 429 with Retry-After when over either. */
  private boolean withinLimits(Context ctx, ApiKey key) {
    var wait = limiter.acquire(key);
    if (wait.isPresent()) {
      count("rejected", "RATE_LIMITED");
      ctx.header("Retry-After", Long.toString(Math.max(1, wait.getAsLong())));
      ApiResponses.error(ctx, 429, ApiError.of("RATE_LIMITED",
          "more than " + key.ratePerSecond() + " submissions per second (burst " + key.burst() + ")"));
      return false;
    }
    long active = store.count(s -> key.tenant().equals(s.tenant()) && !s.status().isTerminal());
    if (active >= key.maxQueued()) {
      count("rejected", "TOO_MANY_QUEUED");
      ctx.header("Retry-After", "10");
      ApiResponses.error(ctx, 429, ApiError.of("TOO_MANY_QUEUED", "tenant '" + key.tenant()
          + "' has " + active + " unfinished jobs; the limit is " + key.maxQueued()));
      return false;
    }
    return true;
  }

  /** DELETE /v1/jobs/{id}: cancel a queued or running job. */
  void cancel(Context ctx) {
    Optional<JobStatus> found = find(ctx);
    if (found.isEmpty()) {
      return;
    }
    if (found.get().status().isTerminal()) {
      ApiResponses.error(ctx, 409, ApiError.of("JOB_" + found.get().status().name(),
          "the job already ended " + found.get().status() + "; nothing to cancel"));
      return;
    }
    try {
      JobStatus verdict = submitter.cancel(found.get().jobId()).orElseThrow();
      if (verdict.status() != JobState.CANCELLED) {
        // The sink claimed the output (STORING), or the job ended, before the cancel took effect.
        ApiResponses.error(ctx, 409, ApiError.of("JOB_" + verdict.status().name(),
            verdict.status() == JobState.STORING
                ? "the job's output is being stored; it can no longer be cancelled"
                : "the job is " + verdict.status() + "; the cancel came too late"));
        return;
      }
      ApiResponses.json(ctx, 202, withDelivery(verdict));
    } catch (PublishFailedException e) {
      ctx.header("Retry-After", "5");
      ApiResponses.error(ctx, 503, ApiError.of(ErrorCode.UNAVAILABLE.name(),
          "the status topic is unavailable; the job was not cancelled, retry later"));
    }
  }

  /**
   * GET /v1/jobs?limit=&status=&cursor= : the caller's jobs (its tenant's, with API keys on),
   * newest first, a page at a time.
   */
  void list(Context ctx) {
    Caller caller = caller(ctx);
    List<FieldError> errors = new java.util.ArrayList<>();
    int limit = JobPage.DEFAULT_LIMIT;
    String limitText = ctx.queryParam("limit");
    if (limitText != null) {
      try {
        limit = Integer.parseInt(limitText);
      } catch (NumberFormatException e) {
        limit = -1;
      }
      if (limit < 1 || limit > JobPage.MAX_LIMIT) {
        errors.add(new FieldError("limit", "range", "must be an integer from 1 to "
            + JobPage.MAX_LIMIT));
      }
    }
    Optional<JobState> state = Optional.empty();
    String stateText = ctx.queryParam("status");
    if (stateText != null) {
      state = java.util.Arrays.stream(JobState.values())
          .filter(s -> s.name().equalsIgnoreCase(stateText)).findFirst();
      if (state.isEmpty()) {
        errors.add(new FieldError("status", "enum", "must be one of "
            + java.util.Arrays.toString(JobState.values())));
      }
    }
    Optional<JobPage.Cursor> cursor = Optional.empty();
    String cursorText = ctx.queryParam("cursor");
    if (cursorText != null) {
      cursor = JobPage.Cursor.parse(cursorText);
      if (cursor.isEmpty()) {
        errors.add(new FieldError("cursor", "format", "must be a next_cursor from a previous page"));
      }
    }
    if (!errors.isEmpty()) {
      ApiResponses.error(ctx, 400, new ApiError(ErrorCode.INVALID_JOB.name(),
          "invalid query parameters; see fields", errors));
      return;
    }
    Optional<JobState> wanted = state;
    List<JobStatus> mine = store.matching(s -> (caller.key().isEmpty()
        || java.util.Objects.equals(s.tenant(), caller.tenant()))
        && wanted.map(w -> w == s.status()).orElse(true));
    ApiResponses.json(ctx, 200, JobPage.of(mine.stream().map(this::withDelivery).toList(), limit,
        cursor));
  }

  /** GET /v1/jobs/{id} */
  void status(Context ctx) {
    find(ctx).ifPresent(status -> ApiResponses.json(ctx, 200, withDelivery(status)));
  }

  /** GET /v1/jobs/{id}/result */
  void result(Context ctx) {
    Optional<JobStatus> found = find(ctx);
    if (found.isEmpty()) {
      return;
    }
    JobStatus status = found.get();
    if (status.status() != JobState.SUCCEEDED) {
      String code = status.status().isTerminal() ? "JOB_" + status.status().name() : "NOT_FINISHED";
      String message = status.status().isTerminal()
          ? "the job ended " + status.status() + (status.error() == null ? ""
              : ": " + status.error().code() + " " + status.error().message())
          : "the job is " + status.status() + "; poll " + statusUrl(status.jobId());
      ApiResponses.error(ctx, 409, ApiError.of(code, message));
      return;
    }
    Optional<S3Uri> location = S3Uri.parse(status.outputLocation());
    if (location.isEmpty() || !links.canSign(location.get(), status.jobId())) {
      ApiResponses.error(ctx, 500, ApiError.of("INTERNAL",
          "the job's output location is not in the output bucket"));
      return;
    }
    String url = links.presignGet(location.get());
    Result body = new Result(status.jobId(), status.status(), status.outputLocation(), url,
        links.ttl().toSeconds(), status.answer());
    // A browser's fetch follows a redirect it cannot read across origins: ?redirect=false
    // answers 200 with the same body (the web console shows and links the URL itself).
    if ("false".equals(ctx.queryParam("redirect"))) {
      ApiResponses.json(ctx, 200, body);
      return;
    }
    ctx.header("Location", url);
    ApiResponses.json(ctx, 302, body);
  }

  /** GET /v1/jobs/{id}/trace: the job's spans (JSON, or a text waterfall with ?format=text). */
  void trace(Context ctx) {
    if (spanStore.isEmpty()) {
      ApiResponses.error(ctx, 404, ApiError.of("TRACE_STORE_DISABLED", "this deployment keeps no"
          + " spans; find the job's trace_id in your tracing backend"));
      return;
    }
    Optional<JobStatus> found = find(ctx);
    if (found.isEmpty()) {
      return;
    }
    String traceId = found.get().traceId();
    List<io.opentelemetry.sdk.trace.data.SpanData> spans =
        traceId == null ? List.of() : spanStore.get().trace(traceId);
    if ("text".equals(ctx.queryParam("format"))) {
      ctx.status(200).contentType("text/plain; charset=utf-8").result(TraceWaterfall.render(spans));
      return;
    }
    ApiResponses.json(ctx, 200, new TraceBody(found.get().jobId(), traceId,
        spans.stream().map(SpanView::of).toList()));
  }

  /** The job as the API shows it: its webhook with the delivery's progress, once there is one. */
  private JobStatus withDelivery(JobStatus status) {
    if (status.webhook() == null) {
      return status;
    }
    return deliveries.get(status.jobId())
        .map(d -> status.withWebhook(status.webhook().withProgress(d.state(), d.attempts(),
            d.lastCode(), d.lastError(), d.deliveredAt())))
        .orElse(status);
  }

  record TraceBody(String jobId, String traceId, List<SpanView> spans) {}

  /** The caller's job with the path's id; another tenant's job is answered like no job (404). */
  private Optional<JobStatus> find(Context ctx) {
    Caller caller = caller(ctx);
    String jobId = ctx.pathParam("id");
    if (!JobId.isValid(jobId)) {
      ApiResponses.error(ctx, 400, new ApiError(ErrorCode.INVALID_JOB.name(), "invalid job id",
          List.of(new FieldError("job_id", "pattern", "must match " + JobId.PATTERN.pattern()))));
      return Optional.empty();
    }
    Optional<JobStatus> status = store.get(jobId)
        .filter(s -> caller.key().isEmpty() || java.util.Objects.equals(s.tenant(), caller.tenant()));
    if (status.isEmpty()) {
      ApiResponses.error(ctx, 404, ApiError.of("NOT_FOUND", "no job '" + jobId + "'"));
    }
    return status;
  }

  private void tooLarge(Context ctx) {
    count("rejected", "PAYLOAD_TOO_LARGE");
    discardBody(ctx);
    ApiResponses.error(ctx, 413, ApiError.of("PAYLOAD_TOO_LARGE",
        "the body exceeds " + maxBodyBytes + " bytes"));
  }

  /**
   * Reads and drops the rest of an oversized body before answering. A server that answers and
   * closes with the body unread makes the kernel reset the connection, and a client still
   * sending (the JDK's HttpClient, curl) then loses the 413 and sees "connection reset" instead.
   * Up to {@code 4 x maxBodyBytes} is read; past that the connection is closed unread.
   */
  private void discardBody(Context ctx) {
    ctx.header("Connection", "close");
    long declared = ctx.contentLength();
    long limit = 4 * maxBodyBytes;
    if (declared > limit) {
      return;
    }
    byte[] sink = new byte[64 * 1024];
    long read = 0;
    try (java.io.InputStream in = ctx.req().getInputStream()) {
      for (int n; read < limit && (n = in.read(sink)) >= 0; ) {
        read += n;
      }
    } catch (java.io.IOException | IllegalStateException e) {
      log.debug("stopped discarding an oversized body after {} bytes: {}", read, e.toString());
    }
  }

  private static String describe(InvalidJobException e) {
    return switch (e.code()) {
      case INVALID_JSON -> "the body is not valid JSON";
      case UNKNOWN_MODEL -> "the job names a model this deployment does not serve";
      default -> "the job is invalid; see fields";
    };
  }

  static String statusUrl(String jobId) {
    return "/v1/jobs/" + jobId;
  }

  private void count(String outcome, String code) {
    registry.counter("inference.submissions", "outcome", outcome, "code", code).increment();
  }
}
