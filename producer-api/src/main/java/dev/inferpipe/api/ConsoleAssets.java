package dev.inferpipe.api;

import io.javalin.http.Context;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;

/**
 * The web console at {@code /console}: three static files from the jar (no build step, no CDN,
 * works offline), served by the API so that the page and the API share one origin and one set
 * of keys. Every console path but the two assets answers the page; the page routes itself.
 */
final class ConsoleAssets {
  /** The page's own script and style only; images may come from the presigned S3 URLs. */
  static final String CONTENT_SECURITY_POLICY = "default-src 'self'; img-src 'self' data: http:"
      + " https:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

  private final byte[] page = read("index.html");
  private final byte[] script = read("console.js");
  private final byte[] style = read("console.css");
  private final String traceUrlTemplate;

  /** @param traceUrlTemplate where the console links a trace when the API keeps no spans */
  ConsoleAssets(String traceUrlTemplate) {
    this.traceUrlTemplate = traceUrlTemplate;
  }

  private static byte[] read(String name) {
    try (InputStream in = ConsoleAssets.class.getClassLoader()
        .getResourceAsStream("console/" + name)) {
      if (in == null) {
        throw new IllegalStateException("console/" + name + " missing from the classpath");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** GET /console, /console/jobs/{id}: the page. */
  void page(Context ctx) {
    secure(ctx).contentType("text/html; charset=utf-8").result(page);
  }

  /** GET /console/console.js */
  void script(Context ctx) {
    secure(ctx).contentType("text/javascript; charset=utf-8").result(script);
  }

  /** GET /console/console.css */
  void style(Context ctx) {
    secure(ctx).contentType("text/css; charset=utf-8").result(style);
  }

  /** GET /console/config.json: what the page needs to know of the deployment. */
  void config(Context ctx) {
    ApiResponses.json(ctx, 200, Map.of("trace_url_template", traceUrlTemplate));
  }

  private static Context secure(Context ctx) {
    return ctx.header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        .header("X-Content-Type-Options", "nosniff")
        .header("Cache-Control", "no-cache");
  }
}
