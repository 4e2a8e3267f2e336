package dev.inferpipe.consumer.diffusion;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.util.SplittableRandom;

/**
 * The sampling loop with classifier-free guidance, for a batch of jobs at once. Each image has
 * its own seed; noise comes from a seeded Java generator, so the same seed gives the same pixels.
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

  /** What to sample; arrays are per image (batch dimension first). */
  public record Request(Sampler sampler, int steps, float cfgScale, long[] seeds,
      float[][] prompts, float[][] negativePrompts, int height, int width) {}

  /** Returns the final images, (B, 3, H, W) in [-1, 1], attached to {@code manager}. */
  public NDArray sample(NDManager manager, Request request, StepObserver observer) {
    int batch = request.seeds().length;
    int channels = 3;
    int pixels = channels * request.height() * request.width();
    SplittableRandom[] randoms = new SplittableRandom[batch];
    float[] initial = new float[batch * pixels];
    for (int b = 0; b < batch; b++) {
      randoms[b] = new SplittableRandom(request.seeds()[b]);
      fillGaussian(randoms[b], initial, b * pixels, pixels);
    }
    Shape imageShape = new Shape(batch, channels, request.height(), request.width());
    NDArray x = manager.create(initial, imageShape);
    int vocabulary = request.prompts()[0].length;
    float[] conditioning = new float[2 * batch * vocabulary];
    for (int b = 0; b < batch; b++) {
      System.arraycopy(request.prompts()[b], 0, conditioning, b * vocabulary, vocabulary);
      System.arraycopy(request.negativePrompts()[b], 0, conditioning, (batch + b) * vocabulary,
          vocabulary);
    }
    int[] timesteps = schedule.descending(request.steps());
    for (int i = 0; i < timesteps.length; i++) {
      int t = timesteps[i];
      int next = i + 1 < timesteps.length ? timesteps[i + 1] : -1;
      try (StepObserver.Step ignored = observer.begin(i, t);
          NDManager step = manager.newSubManager()) {
        x.attach(step);
        NDArray eps = guidedNoise(step, x, t, conditioning, batch, vocabulary, request.cfgScale());
        NDArray updated = update(step, request.sampler(), x, eps, t, next, randoms, pixels, imageShape);
        updated.attach(manager);
        x = updated;
      }
    }
    return x;
  }

  /** One model call on [x; x] with [prompt; negative prompt], combined by the guidance scale. */
  private NDArray guidedNoise(NDManager m, NDArray x, int t, float[] conditioning, int batch,
      int vocabulary, float cfgScale) {
    NDArray doubled = x.concat(x, 0);
    float[] time = new float[2 * batch];
    java.util.Arrays.fill(time, (float) t / schedule.steps());
    NDArray eps = model.predictNoise(doubled, m.create(time),
        m.create(conditioning, new Shape(2L * batch, vocabulary)));
    NDArray conditional = eps.get(new NDIndex("0:" + batch));
    NDArray unconditional = eps.get(new NDIndex(batch + ":"));
    return unconditional.add(conditional.sub(unconditional).mul(cfgScale));
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

  private static NDArray predictedClean(NDArray x, NDArray eps, double abT) {
    return x.sub(eps.mul((float) Math.sqrt(1 - abT))).div((float) Math.sqrt(abT)).clip(-1f, 1f);
  }

  private static void fillGaussian(SplittableRandom random, float[] target, int offset, int count) {
    for (int i = 0; i < count; i++) {
      double u1 = 1.0 - random.nextDouble();
      double u2 = random.nextDouble();
      target[offset + i] = (float) (Math.sqrt(-2.0 * Math.log(u1)) * Math.cos(2 * Math.PI * u2));
    }
  }
}
