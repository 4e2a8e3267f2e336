package dev.inferpipe.consumer.diffusion;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.util.SplittableRandom;

/**
 * The sampling loop with classifier-free guidance, for a batch of jobs at once, in pixel or
 * latent space (whatever the model samples in). Each image has its own seed; noise comes from a seeded Java generator, so the same seed gives the same pixels.
 * Every step runs in its own NDManager that is closed afterwards: only the current image batch
 * survives from one step to the next.
 */
public final class DiffusionSampler {
  private final NoisePredictor model;
  private final NoiseSchedule schedule;

  public DiffusionSampler(NoisePredictor model, NoiseSchedule schedule) {
    this.model = model;
    this.schedule = schedule;
  }

  /**
   * What to sample; arrays are per image (batch dimension first).
   *
   * @param conditioning the prompts' conditioning followed by the negative prompts', (2B, ...)
   * @param channels channels of the sampling space (latent channels for a latent model)
   */
  public record Request(Sampler sampler, int steps, float cfgScale, long[] seeds,
      NDArray conditioning, int channels, int height, int width) {}

  /** Returns the final samples, (B, C, h, w), attached to {@code manager}. */
  public NDArray sample(NDManager manager, Request request, StepObserver observer) {
    int batch = request.seeds().length;
    int pixels = request.channels() * request.height() * request.width();
    SplittableRandom[] randoms = new SplittableRandom[batch];
    float[] initial = new float[batch * pixels];
    for (int b = 0; b < batch; b++) {
      randoms[b] = new SplittableRandom(request.seeds()[b]);
      fillGaussian(randoms[b], initial, b * pixels, pixels);
    }
    Shape imageShape = new Shape(batch, request.channels(), request.height(), request.width());
    NDArray x = manager.create(initial, imageShape);
    int[] timesteps = schedule.timesteps(request.steps());
    for (int i = 0; i < timesteps.length; i++) {
      int t = timesteps[i];
      int next = i + 1 < timesteps.length ? timesteps[i + 1] : -1;
      try (StepObserver.Step ignored = observer.begin(i, t);
          NDManager step = manager.newSubManager()) {
        x.attach(step);
        NDArray eps = guidedNoise(x, t, request.conditioning(), batch, request.cfgScale());
        NDArray updated = update(step, request.sampler(), x, eps, t, next, randoms, pixels, imageShape);
        updated.attach(manager);
        x = updated;
      }
    }
    return x;
  }

  /**
   * One model call on [x; x] with [prompt; negative prompt], combined by the guidance scale and
   * turned into a noise prediction (a v-prediction model's output is converted).
   */
  private NDArray guidedNoise(NDArray x, int t, NDArray conditioning, int batch, float cfgScale) {
    NDArray doubled = x.concat(x, 0);
    NDArray out = model.predictNoise(doubled, t, conditioning);
    if (!out.getShape().equals(doubled.getShape())) {
      throw new IllegalStateException("the model predicted shape " + out.getShape()
          + " for samples of shape " + doubled.getShape());
    }
    NDArray conditional = out.get(new NDIndex("0:" + batch));
    NDArray unconditional = out.get(new NDIndex(batch + ":"));
    NDArray guided = unconditional.add(conditional.sub(unconditional).mul(cfgScale));
    if (schedule.prediction() == NoiseSchedule.Prediction.V_PREDICTION) {
      double abT = schedule.alphaBar(t);
      // v = sqrt(ab) eps - sqrt(1 - ab) x0, so eps = sqrt(ab) v + sqrt(1 - ab) x.
      return guided.mul((float) Math.sqrt(abT)).add(x.mul((float) Math.sqrt(1 - abT)));
    }
    return guided;
  }

  private NDArray update(NDManager m, Sampler sampler, NDArray x, NDArray eps, int t, int next,
      SplittableRandom[] randoms, int pixels, Shape shape) {
    double abT = schedule.alphaBar(t);
    double abNext = schedule.alphaBar(next);
    switch (sampler) {
      case EULER -> {
        double sigma = Math.sqrt((1 - abT) / abT);
        double sigmaNext = Math.sqrt((1 - abNext) / abNext);
        // x_sigma = x / sqrt(abT); x_sigma' = x_sigma + (sigmaNext - sigma) * eps; back to VP scale.
        return x.mul((float) (Math.sqrt(abNext / abT)))
            .add(eps.mul((float) ((sigmaNext - sigma) * Math.sqrt(abNext))));
      }
      case DDIM -> {
        NDArray x0 = predictedClean(x, eps, abT);
        NDArray epsClipped = x.sub(x0.mul((float) Math.sqrt(abT))).div((float) Math.sqrt(1 - abT));
        return x0.mul((float) Math.sqrt(abNext)).add(epsClipped.mul((float) Math.sqrt(1 - abNext)));
      }
      case DDPM -> {
        NDArray x0 = predictedClean(x, eps, abT);
        double betaEff = 1 - abT / abNext;
        double coefClean = Math.sqrt(abNext) * betaEff / (1 - abT);
        double coefNoisy = Math.sqrt(1 - betaEff) * (1 - abNext) / (1 - abT);
        NDArray mean = x0.mul((float) coefClean).add(x.mul((float) coefNoisy));
        if (next < 0) {
          return mean;
        }
        double std = Math.sqrt(betaEff * (1 - abNext) / (1 - abT));
        float[] z = new float[(int) shape.size()];
        for (int b = 0; b < randoms.length; b++) {
          fillGaussian(randoms[b], z, b * pixels, pixels);
        }
        return mean.add(m.create(z, shape).mul((float) std));
      }
      default -> throw new IllegalArgumentException("unknown sampler " + sampler);
    }
  }

  private NDArray predictedClean(NDArray x, NDArray eps, double abT) {
    NDArray x0 = x.sub(eps.mul((float) Math.sqrt(1 - abT))).div((float) Math.sqrt(abT));
    return schedule.clipSample() ? x0.clip(-1f, 1f) : x0;
  }

  private static void fillGaussian(SplittableRandom random, float[] target, int offset, int count) {
    for (int i = 0; i < count; i++) {
      double u1 = 1.0 - random.nextDouble();
      double u2 = random.nextDouble();
      target[offset + i] = (float) (Math.sqrt(-2.0 * Math.log(u1)) * Math.cos(2 * Math.PI * u2));
    }
  }
}
