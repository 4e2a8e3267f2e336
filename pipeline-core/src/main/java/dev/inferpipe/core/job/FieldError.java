package dev.inferpipe.core.job;

/**
 * One reason a job is invalid. {@code field} is a dotted path into the job ({@code input.steps}),
 * or empty for the document as a whole; {@code reason} is a short keyword such as {@code required},
 * {@code maximum} or {@code unknown_model}.
 */
public record FieldError(String field, String reason, String message) {}
