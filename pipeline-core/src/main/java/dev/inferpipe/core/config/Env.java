package dev.inferpipe.core.config;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Typed access to environment-style settings. Services read {@code System.getenv()}; tests and the
 * local stack pass their own map. A malformed value fails at start-up with the variable's name.
 */
public final class Env {
  private final Map<String, String> values;

  private Env(Map<String, String> values) {
    this.values = Map.copyOf(values);
  }

  public static Env system() {
    return new Env(System.getenv());
  }

  public static Env of(Map<String, String> values) {
    return new Env(values);
  }

  /** This env with {@code overrides} taking precedence. */
  public Env with(Map<String, String> overrides) {
    java.util.HashMap<String, String> merged = new java.util.HashMap<>(values);
    merged.putAll(overrides);
    return new Env(merged);
  }

  public Map<String, String> asMap() {
    return values;
  }

  public Optional<String> get(String name) {
    String value = values.get(name);
    return value == null || value.isBlank() ? Optional.empty() : Optional.of(value.trim());
  }

  public String string(String name, String defaultValue) {
    return get(name).orElse(defaultValue);
  }

  public String required(String name) {
    return get(name).orElseThrow(() -> new IllegalArgumentException(name + " must be set"));
  }

  public int integer(String name, int defaultValue) {
    return get(name).map(v -> parse(name, v, Integer::parseInt, "an integer")).orElse(defaultValue);
  }

  public long longValue(String name, long defaultValue) {
    return get(name).map(v -> parse(name, v, Long::parseLong, "an integer")).orElse(defaultValue);
  }

  public boolean bool(String name, boolean defaultValue) {
    return get(name).map(v -> {
      if (v.equalsIgnoreCase("true")) {
        return true;
      }
      if (v.equalsIgnoreCase("false")) {
        return false;
      }
      throw new IllegalArgumentException(name + " must be true or false, got '" + v + "'");
    }).orElse(defaultValue);
  }

  /** A duration written as {@code 500ms}, {@code 30s}, {@code 5m} or {@code 1h}. */
  public Duration duration(String name, Duration defaultValue) {
    return get(name).map(v -> parse(name, v, Env::parseDuration, "a duration like 30s"))
        .orElse(defaultValue);
  }

  /** A comma-separated list; blanks are dropped. */
  public List<String> list(String name, List<String> defaultValue) {
    return get(name).map(v -> Arrays.stream(v.split(","))
        .map(String::trim).filter(s -> !s.isEmpty()).toList()).orElse(defaultValue);
  }

  private static Duration parseDuration(String text) {
    String t = text.toLowerCase(java.util.Locale.ROOT);
    if (t.endsWith("ms")) {
      return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
    }
    long amount = Long.parseLong(t.substring(0, t.length() - 1));
    return switch (t.charAt(t.length() - 1)) {
      case 's' -> Duration.ofSeconds(amount);
      case 'm' -> Duration.ofMinutes(amount);
      case 'h' -> Duration.ofHours(amount);
      default -> throw new IllegalArgumentException("unknown unit");
    };
  }

  private interface Parser<T> {
    T parse(String text);
  }

  private static <T> T parse(String name, String value, Parser<T> parser, String expected) {
    try {
      return parser.parse(value);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(name + " must be " + expected + ", got '" + value + "'", e);
    }
  }
}
