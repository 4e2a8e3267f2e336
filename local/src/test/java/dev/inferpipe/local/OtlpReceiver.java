package dev.inferpipe.local;

import com.sun.net.httpserver.HttpServer;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.zip.GZIPInputStream;

/** A real OTLP/HTTP trace receiver (protobuf), as a collector would run it, for tests. */
final class OtlpReceiver implements AutoCloseable {
  /** One received span, with the service that sent it. */
  record ReceivedSpan(String service, String name, String traceId, String spanId,
      String parentSpanId, Span.SpanKind kind, long startNanos, long endNanos,
      List<KeyValue> attributes) {

    String attribute(String key) {
      return attributes.stream().filter(a -> a.getKey().equals(key)).findFirst()
          .map(a -> a.getValue().hasStringValue() ? a.getValue().getStringValue()
              : String.valueOf(a.getValue().getIntValue()))
          .orElse(null);
    }
  }

  private final HttpServer server;
  private final List<ReceivedSpan> spans = new ArrayList<>();
  private final List<String> rawRequests = new ArrayList<>();

  OtlpReceiver() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/v1/traces", exchange -> {
      byte[] body;
      try (InputStream in = "gzip".equals(exchange.getRequestHeaders().getFirst("Content-Encoding"))
          ? new GZIPInputStream(exchange.getRequestBody()) : exchange.getRequestBody()) {
        body = in.readAllBytes();
      }
      ExportTraceServiceRequest request = ExportTraceServiceRequest.parseFrom(body);
      synchronized (spans) {
        rawRequests.add(request.toString());
        for (ResourceSpans resourceSpans : request.getResourceSpansList()) {
          String service = resourceSpans.getResource().getAttributesList().stream()
              .filter(a -> a.getKey().equals("service.name")).findFirst()
              .map(a -> a.getValue().getStringValue()).orElse("?");
          for (ScopeSpans scopeSpans : resourceSpans.getScopeSpansList()) {
            for (Span span : scopeSpans.getSpansList()) {
              spans.add(new ReceivedSpan(service, span.getName(), hex(span.getTraceId().toByteArray()),
                  hex(span.getSpanId().toByteArray()), hex(span.getParentSpanId().toByteArray()),
                  span.getKind(), span.getStartTimeUnixNano(), span.getEndTimeUnixNano(),
                  span.getAttributesList()));
            }
          }
        }
      }
      byte[] response = ExportTraceServiceResponse.getDefaultInstance().toByteArray();
      exchange.getResponseHeaders().set("Content-Type", "application/x-protobuf");
      exchange.sendResponseHeaders(200, response.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(response);
      }
    });
    server.start();
  }

  private static String hex(byte[] bytes) {
    return HexFormat.of().formatHex(bytes);
  }

  String endpoint() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  List<ReceivedSpan> spans() {
    synchronized (spans) {
      return List.copyOf(spans);
    }
  }

  /** Everything received, as protobuf text: for "this never appears anywhere" checks. */
  String rawText() {
    synchronized (spans) {
      return String.join("\n", rawRequests);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
