package dev.inferpipe.core.job;

import dev.inferpipe.core.model.ModelSpec;

/**
 * A job that passed the schema and its model's limits.
 *
 * @param requestSha256 fingerprint of the job as submitted (before defaults are filled), so a
 *     resubmission of the same body maps to the same fingerprint
 */
public record ValidatedJob(Job job, ModelSpec model, String requestSha256) {}
