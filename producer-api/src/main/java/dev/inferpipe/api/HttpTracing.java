package dev.inferpipe.api;

import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Scope;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.semconv.ClientAttributes;
import io.opentelemetry.semconv.HttpAttributes;
import io.opentelemetry.semconv.UrlAttributes;
import io.opentelemetry.semconv.UserAgentAttributes;
import java.util.List;
import java.util.function.Predicate;
import java.util.concurrent.TimeUnit;

/**
 * Wraps a route handler in the route table's policy: authentication first ({@code admit}, which
 * answers 401 / 403 itself; such a request is timed but gets no span, so nothing about it is
 * traced or stored), then an HTTP SERVER span and an {@code http_server_requests_seconds} timer.
 * A client's W3C {@code traceparent} is continued, or only linked: a public API must not let a
 * caller pick the trace its spans join. Handlers answer errors themselves, so the status code is
 * final when the span ends.
 */
final class HttpTracing {
  private static final TextMapGetter<Context> HEADERS = new TextMapGetter<>() {
    @Override
    public Iterable<String> keys(Context ctx) {
      return ctx.headerMap().keySet();
    }

    @Override
    public String get(Context ctx, String key) {
      return ctx == null ? null : ctx.header(key);
    }
  };

  private final OpenTelemetry openTelemetry;
  private final Tracer tracer;
  private final MeterRegistry registry;
  private final Predicate<Context> admit;
  private final boolean continueClientTrace;

  /**
   * @param admit authenticates a request (answering it when refused)
   * @param continueClientTrace parent the SERVER span on the client's context; else link to it
   */
  HttpTracing(OpenTelemetry openTelemetry, MeterRegistry registry, Predicate<Context> admit,
      boolean continueClientTrace) {
    this.openTelemetry = openTelemetry;
    this.tracer = openTelemetry.getTracer("dev.inferpipe.api");
    this.registry = registry;
    this.admit = admit;
    this.continueClientTrace = continueClientTrace;
  }

  Handler traced(String method, String route, Handler handler) {
    return ctx -> {
      long admitStart = System.nanoTime();
      if (!admit.test(ctx)) {
        time(method, route, ctx.statusCode(), admitStart);
        return;
      }
      io.opentelemetry.context.Context client = openTelemetry.getPropagators()
          .getTextMapPropagator().extract(io.opentelemetry.context.Context.root(), ctx, HEADERS);
      SpanBuilder builder = tracer.spanBuilder(method + " " + route);
      if (continueClientTrace) {
        builder.setParent(client);
      } else {
        builder.setNoParent();
        SpanContext linked = Span.fromContext(client).getSpanContext();
        if (linked.isValid()) {
          builder.addLink(linked);
        }
      }
      Span span = builder
          .setSpanKind(SpanKind.SERVER)
          .setAttribute(HttpAttributes.HTTP_REQUEST_METHOD, method)
          .setAttribute(HttpAttributes.HTTP_ROUTE, route)
          .setAttribute(UrlAttributes.URL_PATH, ctx.path())
          .setAttribute(UrlAttributes.URL_SCHEME, ctx.scheme())
          .setAttribute(ClientAttributes.CLIENT_ADDRESS, ctx.ip())
          .startSpan();
      String userAgent = ctx.userAgent();
      if (userAgent != null) {
        span.setAttribute(UserAgentAttributes.USER_AGENT_ORIGINAL, userAgent);
      }
      long start = System.nanoTime();
      try (Scope ignored = span.makeCurrent()) {
        handler.handle(ctx);
      } catch (Exception e) {
        span.recordException(e);
        ApiResponses.error(ctx, 500, ApiError.of("INTERNAL", "internal error; see the server log"
            + " for trace_id " + span.getSpanContext().getTraceId()));
      } finally {
        int status = ctx.statusCode();
        span.setAttribute(HttpAttributes.HTTP_RESPONSE_STATUS_CODE, (long) status);
        if (status >= 500) {
          span.setStatus(StatusCode.ERROR);
        }
        span.end();
        time(method, route, status, start);
      }
    };
  }

  private void time(String method, String route, int status, long startNanos) {
    Timer.builder("http.server.requests")
        .tags(List.of(
            io.micrometer.core.instrument.Tag.of("method", method),
            io.micrometer.core.instrument.Tag.of("route", route),
            io.micrometer.core.instrument.Tag.of("status", Integer.toString(status))))
        .register(registry)
        .record(System.nanoTime() - startNanos, TimeUnit.NANOSECONDS);
  }
}
