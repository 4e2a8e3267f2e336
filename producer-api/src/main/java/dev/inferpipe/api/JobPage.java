package dev.inferpipe.api;

import dev.inferpipe.core.job.JobStatus;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * One page of {@code GET /v1/jobs}: jobs newest submission first (ties by job id, descending),
 * and the cursor of the next page. A cursor is the last job's position, opaque to clients
 * (base64url of {@code <submitted-at-ms>:<job-id>}), so a page is stable while new jobs arrive.
 */
record JobPage(List<JobStatus> jobs, String nextCursor) {
  static final int DEFAULT_LIMIT = 20;
  static final int MAX_LIMIT = 100;
  private static final Pattern POSITION = Pattern.compile("(\\d{1,15}):([A-Za-z0-9_.-]{1,128})");

  /** Newest first; a job without a submission time sorts last. */
  static final Comparator<JobStatus> NEWEST_FIRST = Comparator
      .comparing((JobStatus s) -> s.submittedAt() == null ? Instant.EPOCH : s.submittedAt())
      .thenComparing(JobStatus::jobId).reversed();

  /** Where a page ends: the last job's submission time and id. */
  record Cursor(long submittedAtMs, String jobId) {
    static Cursor of(JobStatus status) {
      return new Cursor(status.submittedAt() == null ? 0 : status.submittedAt().toEpochMilli(),
          status.jobId());
    }

    /** Parses a cursor from {@link #encode}; empty for anything else. */
    static Optional<Cursor> parse(String text) {
      try {
        String decoded = new String(Base64.getUrlDecoder().decode(text), StandardCharsets.UTF_8);
        var m = POSITION.matcher(decoded);
        return m.matches() ? Optional.of(new Cursor(Long.parseLong(m.group(1)), m.group(2)))
            : Optional.empty();
      } catch (IllegalArgumentException e) {
        return Optional.empty();
      }
    }

    String encode() {
      return Base64.getUrlEncoder().withoutPadding().encodeToString(
          (submittedAtMs + ":" + jobId).getBytes(StandardCharsets.UTF_8));
    }

    /** True when {@code status} comes after this position in {@link #NEWEST_FIRST} order. */
    boolean isBefore(JobStatus status) {
      long at = status.submittedAt() == null ? 0 : status.submittedAt().toEpochMilli();
      return at < submittedAtMs || (at == submittedAtMs && status.jobId().compareTo(jobId) < 0);
    }
  }

  /** The page of {@code jobs} after {@code after}, at most {@code limit} long. */
  static JobPage of(List<JobStatus> jobs, int limit, Optional<Cursor> after) {
    List<JobStatus> sorted = jobs.stream()
        .filter(s -> after.map(c -> c.isBefore(s)).orElse(true))
        .sorted(NEWEST_FIRST)
        .limit(limit + 1L)
        .toList();
    if (sorted.size() <= limit) {
      return new JobPage(sorted, null);
    }
    List<JobStatus> page = sorted.subList(0, limit);
    return new JobPage(List.copyOf(page), Cursor.of(page.get(limit - 1)).encode());
  }
}
