package dev.inferpipe.consumer.exported;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The text encoder's output row for recently used texts, least recently used out first, within
 * a byte budget. A text encoder is a pure function of its text, and most txt2img jobs send the
 * same negative prompt (the empty one): it is encoded once per model, not once per job.
 */
final class EncodedTexts {
  /** 16 MiB: 455 rows of MiniLM's 24 x 384 states, 70 of SD 1.x's 77 x 768 CLIP ones. */
  static final long DEFAULT_BUDGET_BYTES = 16L << 20;

  private final long budgetBytes;
  private final Map<String, float[]> rows = new LinkedHashMap<>(16, 0.75f, true);
  private long bytes;

  EncodedTexts(long budgetBytes) {
    this.budgetBytes = budgetBytes;
  }

  synchronized Optional<float[]> get(String text) {
    return Optional.ofNullable(rows.get(text));
  }

  /** Keeps {@code row} (never modified afterwards), dropping the least recently used to fit. */
  synchronized void put(String text, float[] row) {
    long size = 4L * row.length;
    if (size > budgetBytes) {
      return;
    }
    float[] previous = rows.put(text, row);
    bytes += size - (previous == null ? 0 : 4L * previous.length);
    Iterator<Map.Entry<String, float[]>> oldest = rows.entrySet().iterator();
    while (bytes > budgetBytes && oldest.hasNext()) {
      Map.Entry<String, float[]> entry = oldest.next();
      if (!entry.getKey().equals(text)) {
        bytes -= 4L * entry.getValue().length;
        oldest.remove();
      }
    }
  }

  synchronized int size() {
    return rows.size();
  }
}
