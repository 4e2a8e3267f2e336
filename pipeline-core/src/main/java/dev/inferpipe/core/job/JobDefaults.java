package dev.inferpipe.core.job;

import dev.inferpipe.core.model.ModelSpec;
import java.util.function.LongSupplier;

/**
 * Fills a valid job's optional fields so the job on the topic records exactly what will run:
 * a generated job_id, a drawn seed, and the model's default size, steps and token budget.
 */
public final class JobDefaults {
  public static final int DEFAULT_STEPS = 25;
  public static final double DEFAULT_CFG_SCALE = 3.0;
  public static final String DEFAULT_SAMPLER = "ddim";
  public static final int DEFAULT_MAX_NEW_TOKENS = 8;
  private static final long MAX_SEED = 0xFFFF_FFFFL;

  private final LongSupplier seedSource;

  public JobDefaults(LongSupplier seedSource) {
    this.seedSource = seedSource;
  }

  public Job apply(Job job, ModelSpec model) {
    Job withId = job.jobId() == null ? job.withJobId(JobId.generate()) : job;
    if (withId.input() instanceof Txt2ImgInput in) {
      return withId.withInput(new Txt2ImgInput(
          in.prompt(),
          in.negativePrompt() == null ? "" : in.negativePrompt(),
          in.steps() != null ? in.steps()
              : model.defaultSteps() != null ? model.defaultSteps() : DEFAULT_STEPS,
          in.cfgScale() == null ? DEFAULT_CFG_SCALE : in.cfgScale(),
          in.seed() == null ? Math.floorMod(seedSource.getAsLong(), MAX_SEED + 1) : in.seed(),
          in.sampler() == null ? DEFAULT_SAMPLER : in.sampler(),
          in.width() == null ? model.width() : in.width(),
          in.height() == null ? model.height() : in.height()));
    }
    VqaInput in = (VqaInput) withId.input();
    int maxTokens = model.maxNewTokens() != null ? model.maxNewTokens() : DEFAULT_MAX_NEW_TOKENS;
    return withId.withInput(new VqaInput(
        in.image(), in.question(), in.maxNewTokens() == null ? maxTokens : in.maxNewTokens()));
  }
}
