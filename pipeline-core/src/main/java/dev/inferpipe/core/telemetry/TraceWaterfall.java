package dev.inferpipe.core.telemetry;

import io.opentelemetry.sdk.trace.data.SpanData;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A trace as text: one line per span, indented by depth, with its service, duration and a bar
 * placed on the trace's time axis. Runs of step spans ({@code diffusion.step 0..24}) are folded
 * into one summary line so a 25-step job stays readable.
 */
public final class TraceWaterfall {
  private static final int BAR_WIDTH = 40;

  private TraceWaterfall() {}

  public static String render(List<SpanData> spans) {
    if (spans.isEmpty()) {
      return "(no spans)\n";
    }
    Map<String, List<SpanData>> children = new HashMap<>();
    Set<String> ids = new HashSet<>();
    spans.forEach(s -> ids.add(s.getSpanId()));
    List<SpanData> roots = new ArrayList<>();
    for (SpanData span : spans) {
      if (span.getParentSpanContext().isValid() && ids.contains(span.getParentSpanId())) {
        children.computeIfAbsent(span.getParentSpanId(), k -> new ArrayList<>()).add(span);
      } else {
        roots.add(span);
      }
    }
    long start = spans.stream().mapToLong(SpanData::getStartEpochNanos).min().orElseThrow();
    long end = spans.stream().mapToLong(SpanData::getEndEpochNanos).max().orElseThrow();
    double total = Math.max(1, end - start);
    StringBuilder out = new StringBuilder();
    out.append(String.format("%-52s %-13s %10s  |0 .. %d ms|%n", "span", "service", "ms",
        (end - start) / 1_000_000));
    Comparator<SpanData> byStart = Comparator.comparingLong(SpanData::getStartEpochNanos);
    roots.sort(byStart);
    for (SpanData root : roots) {
      render(root, 0, children, byStart, start, total, out);
    }
    return out.toString();
  }

  private static void render(SpanData span, int depth, Map<String, List<SpanData>> children,
      Comparator<SpanData> byStart, long origin, double total, StringBuilder out) {
    line(span.getName(), service(span), span.getStartEpochNanos(), span.getEndEpochNanos(), depth,
        origin, total, out);
    List<SpanData> kids = new ArrayList<>(children.getOrDefault(span.getSpanId(), List.of()));
    kids.sort(byStart);
    int i = 0;
    while (i < kids.size()) {
      SpanData kid = kids.get(i);
      String family = stepFamily(kid.getName());
      int j = i;
      if (family != null) {
        while (j + 1 < kids.size() && family.equals(stepFamily(kids.get(j + 1).getName()))) {
          j++;
        }
      }
      if (j - i >= 2) {
        SpanData last = kids.get(j);
        double avgMs = kids.subList(i, j + 1).stream()
            .mapToLong(s -> s.getEndEpochNanos() - s.getStartEpochNanos()).average().orElse(0) / 1e6;
        line(String.format("%s 0..%d (%d spans, avg %.1f ms)", family, j - i, j - i + 1, avgMs),
            service(kid), kid.getStartEpochNanos(), last.getEndEpochNanos(), depth + 1, origin,
            total, out);
      } else {
        for (int k = i; k <= j; k++) {
          render(kids.get(k), depth + 1, children, byStart, origin, total, out);
        }
      }
      i = j + 1;
    }
  }

  /** "diffusion.step 7" -> "diffusion.step"; null for names that are not numbered steps. */
  private static String stepFamily(String name) {
    int space = name.lastIndexOf(' ');
    if (space < 0 || !name.substring(space + 1).chars().allMatch(Character::isDigit)) {
      return null;
    }
    String family = name.substring(0, space);
    return family.endsWith(".step") ? family : null;
  }

  private static String service(SpanData span) {
    String name = span.getResource().getAttribute(
        io.opentelemetry.api.common.AttributeKey.stringKey("service.name"));
    return name == null ? "?" : name;
  }

  private static void line(String name, String service, long startNanos, long endNanos, int depth,
      long origin, double total, StringBuilder out) {
    String label = "  ".repeat(depth) + name;
    if (label.length() > 52) {
      label = label.substring(0, 51) + "…";
    }
    // Clamped: spans from hosts with skewed clocks may fall outside the trace's own range.
    int from = clamp((int) Math.round((startNanos - origin) / total * BAR_WIDTH), 0, BAR_WIDTH - 1);
    int to = clamp((int) Math.round((endNanos - origin) / total * BAR_WIDTH), from + 1, BAR_WIDTH);
    String bar = " ".repeat(from) + "█".repeat(to - from);
    out.append(String.format("%-52s %-13s %10.1f  %s%n", label, service,
        (endNanos - startNanos) / 1e6, bar));
  }

  private static int clamp(int value, int min, int max) {
    return Math.max(min, Math.min(max, value));
  }
}
