package dev.inferpipe.core.telemetry;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.encoder.Encoder;
import dev.inferpipe.core.config.Env;
import java.util.Map;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Configures logback in code (no XML to ship or override): one console appender with the JSON or
 * text encoder, the root level from {@code LOG_LEVEL}, and chatty libraries held at WARN.
 */
public final class Logging {
  public static final String FORMAT_ENV = "LOG_FORMAT";
  public static final String LEVEL_ENV = "LOG_LEVEL";

  /** Libraries that log every connection or request at INFO/DEBUG. */
  private static final Map<String, Level> QUIET = Map.ofEntries(
      Map.entry("org.apache.kafka", Level.WARN),
      Map.entry("kafka", Level.WARN),
      Map.entry("state.change.logger", Level.WARN),
      Map.entry("org.eclipse.jetty", Level.WARN),
      Map.entry("org.gaul", Level.WARN),
      Map.entry("io.javalin", Level.WARN),
      Map.entry("software.amazon.awssdk", Level.WARN),
      Map.entry("io.opentelemetry", Level.INFO),
      Map.entry("com.networknt", Level.WARN),
      // The embedded broker's internals (only present in the local stack) and DJL's GPU probe on
      // CPU-only machines: their warnings are about the laptop, not the pipeline.
      Map.entry("org.apache.kafka.controller", Level.ERROR),
      Map.entry("org.apache.kafka.raft", Level.ERROR),
      Map.entry("org.apache.kafka.image", Level.ERROR),
      Map.entry("org.apache.kafka.metadata", Level.ERROR),
      Map.entry("ai.djl.util.cuda", Level.ERROR),
      Map.entry("org.apache.http", Level.WARN),
      Map.entry("org.apache.hc", Level.WARN));

  private Logging() {}

  public static void configure(Env env, String service, String instanceId) {
    configure(LogFormat.parse(env.string(FORMAT_ENV, "json")),
        Level.toLevel(env.string(LEVEL_ENV, "INFO"), Level.INFO), service, instanceId);
  }

  public static void configure(LogFormat format, Level level, String service, String instanceId) {
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    context.reset();
    Encoder<ILoggingEvent> encoder;
    if (format == LogFormat.JSON) {
      JsonLogEncoder json = new JsonLogEncoder();
      json.setService(service);
      json.setInstanceId(instanceId);
      encoder = json;
    } else {
      TextLogEncoder text = new TextLogEncoder();
      text.setService(service);
      encoder = text;
    }
    encoder.setContext(context);
    encoder.start();
    ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
    console.setName("console");
    console.setContext(context);
    console.setEncoder(encoder);
    console.start();
    Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
    root.setLevel(level);
    root.addAppender(console);
    QUIET.forEach((name, quietLevel) -> context.getLogger(name).setLevel(quietLevel));
  }

  /**
   * Marks the current thread as working for {@code service}: its log lines say so even when
   * several services share one JVM (the local stack).
   */
  public static void tagThread(String service) {
    MDC.put(LogFields.SERVICE_KEY, service);
  }
}
