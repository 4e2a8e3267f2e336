package dev.inferpipe.consumer.batch;

import dev.inferpipe.consumer.pipeline.GeneratedImage;
import dev.inferpipe.consumer.pipeline.VqaAnswer;

/** How a job left the scheduler; exactly one per submitted job. */
public sealed interface BatchOutcome {
  /** A txt2img job's image. */
  record Image(GeneratedImage image) implements BatchOutcome {}

  /** A VQA job's answer. */
  record Answer(VqaAnswer answer) implements BatchOutcome {}

  /** Cancelled between steps; its row was removed. */
  record Cancelled() implements BatchOutcome {}

  /** The partition was revoked (or the consumer stops): dropped, nothing is published. */
  record Abandoned() implements BatchOutcome {}

  /** The job failed, alone (a failing batch is re-run row by row first). */
  record Failed(RuntimeException cause) implements BatchOutcome {}
}
