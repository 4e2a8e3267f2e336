package dev.inferpipe.faults;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;

/** The suite's table: one row per injected fault, written to {@code target/fault-report.md}. */
final class FaultReport {
  /**
   * @param recovered fault cleared (process restarted, broker or S3 back) -> first job ended
   * @param drained fault cleared -> every job of the run ended
   * @param rewrites output objects written more than once (same key, same bytes: redelivery)
   */
  record Row(String fault, int submitted, int terminal, int succeeded, int lost,
      int duplicateTerminal, int badObjects, int rewrites, Duration recovered, Duration drained) {

    String markdown() {
      return String.format(Locale.ROOT, "| %s | %d | %d | %d | %d | %d | %d | %d | %s | %s |",
          fault, submitted, terminal, succeeded, lost, duplicateTerminal, badObjects, rewrites,
          seconds(recovered), seconds(drained));
    }

    private static String seconds(Duration duration) {
      return duration == null ? "n/a"
          : String.format(Locale.ROOT, "%.1f s", duration.toMillis() / 1000.0);
    }
  }

  private static final List<Row> rows = new CopyOnWriteArrayList<>();

  private FaultReport() {}

  static void add(Row row) {
    rows.add(row);
    System.out.println("FAULT " + row.markdown());
  }

  static void write(Path file) throws IOException {
    StringBuilder table = new StringBuilder()
        .append("| fault | N | terminal | succeeded | lost | duplicate terminal statuses ")
        .append("| SUCCEEDED without exactly one output | rewritten outputs | recovered | drained |\n")
        .append("|---|---|---|---|---|---|---|---|---|---|\n");
    rows.forEach(row -> table.append(row.markdown()).append('\n'));
    Files.createDirectories(file.getParent());
    Files.writeString(file, table.toString());
    System.out.println(table);
  }
}
