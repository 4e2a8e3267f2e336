package dev.inferpipe.consumer.diffusion;

/**
 * The fields of a diffusers {@code scheduler/scheduler_config.json} the samplers honour, with
 * diffusers' defaults for absent ones. {@link NoiseSchedule#fromConfig} checks the values.
 */
public record SchedulerConfig(
    int numTrainTimesteps,
    double betaStart,
    double betaEnd,
    String betaSchedule,
    String predictionType,
    int stepsOffset,
    boolean setAlphaToOne,
    boolean clipSample,
    String timestepSpacing) {

  /** Reads the JSON tree, defaulting each absent field as diffusers' DDIMScheduler does. */
  public static SchedulerConfig from(tools.jackson.databind.JsonNode json) {
    return new SchedulerConfig(
        json.path("num_train_timesteps").asInt(1000),
        json.path("beta_start").asDouble(0.0001),
        json.path("beta_end").asDouble(0.02),
        json.path("beta_schedule").asString("linear"),
        json.path("prediction_type").asString("epsilon"),
        json.path("steps_offset").asInt(0),
        json.path("set_alpha_to_one").asBoolean(true),
        json.path("clip_sample").asBoolean(true),
        json.path("timestep_spacing").asString("leading"));
  }
}
