package dev.inferpipe.api;

import dev.inferpipe.core.job.FieldError;
import java.util.List;

/**
 * The body of every 4xx/5xx answer: {@code {"error": {"code", "message", "fields": [...]}}}.
 * {@code fields} names each invalid field and why; it is empty when no field is to blame.
 */
record ApiError(String code, String message, List<FieldError> fields) {

  static ApiError of(String code, String message) {
    return new ApiError(code, message, List.of());
  }

  record Body(ApiError error) {}
}
