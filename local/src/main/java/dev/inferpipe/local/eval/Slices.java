package dev.inferpipe.local.eval;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Tallies one measure's samples by what varied in them (e.g. {@code format=jpeg}), so a miss
 * can be traced to a question family, a background or an object pair.
 */
final class Slices {
  private final Map<String, int[]> tallies = new TreeMap<>();

  /** Counts one sample in each named slice. */
  void add(boolean right, String... names) {
    for (String name : names) {
      int[] tally = tallies.computeIfAbsent(name, k -> new int[2]);
      tally[0]++;
      tally[1] += right ? 1 : 0;
    }
  }

  List<Txt2ImgEvaluation.Slice> list() {
    return tallies.entrySet().stream()
        .map(e -> new Txt2ImgEvaluation.Slice(e.getKey(), e.getValue()[0], e.getValue()[1]))
        .toList();
  }
}
