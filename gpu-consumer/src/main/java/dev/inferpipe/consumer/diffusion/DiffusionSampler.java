package dev.inferpipe.consumer.diffusion;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;

/**
 * The sampling loop with classifier-free guidance, in pixel or latent space (whatever the model
 * samples in). {@link #step} advances any set of {@link DiffusionRow}s by one step of their own
 * schedules with one model call: rows may differ in sampler, steps, guidance scale and seed, and
 * may join or leave between steps. Every step runs in its own NDManager that is closed afterwards:
 * only each row's current sample survives from one step to the next.
 */
public final class DiffusionSampler {
  private final NoisePredictor model;
  private final NoiseSchedule schedule;

  public DiffusionSampler(NoisePredictor model, NoiseSchedule schedule) {
    this.model = model;
    this.schedule = schedule;
  }

  /**
   * What to sample for a batch that shares sampler, steps and guidance; arrays are per image.
   *
   * @param conditioning the prompts' conditioning followed by the negative prompts', (2B, ...)
   * @param channels channels of the sampling space (latent channels for a latent model)
   */
  public record Request(Sampler sampler, int steps, float cfgScale, long[] seeds,
      NDArray conditioning, int channels, int height, int width) {}

  /** Samples a whole batch in lockstep; returns the final samples, (B, C, h, w), in {@code manager}. */
  public NDArray sample(NDManager manager, Request request, StepObserver observer) {
    int batch = request.seeds().length;
    List<DiffusionRow> rows = new ArrayList<>();
    try {
      for (int b = 0; b < batch; b++) {
        NDArray pair = request.conditioning().get(new NDIndex(b + ":" + (b + 1)))
            .concat(request.conditioning().get(new NDIndex((batch + b) + ":" + (batch + b + 1))), 0);
        rows.add(DiffusionRow.start(manager, schedule, request.sampler(), request.steps(),
            request.cfgScale(), request.seeds()[b], pair, request.channels(), request.height(),
            request.width()));
      }
      for (int i = 0; i < request.steps(); i++) {
        try (StepObserver.Step ignored = observer.begin(i, rows.get(0).timestep())) {
          step(manager, rows);
        }
      }
      return stack(manager, rows.stream().map(DiffusionRow::sample).toList(),
          rows.get(0).sample().getShape());
    } finally {
      rows.forEach(DiffusionRow::close);
    }
  }

  /**
   * One model call on every row's sample twice (prompt, negative prompt), each row's guidance
   * applied with its own scale, then each row's sampler update for its own timestep.
   *
   * @param parent the manager the step's temporary arrays are opened under (the model's device)
   */
  public void step(NDManager parent, List<DiffusionRow> rows) {
    if (rows.isEmpty()) {
      return;
    }
    int batch = rows.size();
    try (NDManager step = parent.newSubManager()) {
      List<NDArray> doubled = new ArrayList<>(2 * batch);
      long[] timesteps = new long[2 * batch];
      for (int b = 0; b < batch; b++) {
        DiffusionRow row = rows.get(b);
        if (row.done()) {
          throw new IllegalArgumentException("a finished row cannot step");
        }
        doubled.add(row.sample());
        doubled.add(row.sample());
        timesteps[2 * b] = row.timestep();
        timesteps[2 * b + 1] = row.timestep();
      }
      Shape one = rows.get(0).sample().getShape();
      NDArray x = stack(step, doubled, one);
      NDArray conditioning = stack(step, rows.stream().map(DiffusionRow::conditioning).toList(),
          rows.get(0).conditioning().getShape());
      NDArray out = model.predictNoise(x, timesteps, conditioning);
      if (!out.getShape().equals(x.getShape())) {
        throw new IllegalStateException("the model predicted shape " + out.getShape()
            + " for samples of shape " + x.getShape());
      }
      for (int b = 0; b < batch; b++) {
        DiffusionRow row = rows.get(b);
        // The row's sample as a view in the step's manager, so what is computed from it is too.
        NDArray sample = x.get(new NDIndex((2 * b) + ":" + (2 * b + 1)));
        NDArray conditional = out.get(new NDIndex((2 * b) + ":" + (2 * b + 1)));
        NDArray unconditional = out.get(new NDIndex((2 * b + 1) + ":" + (2 * b + 2)));
        NDArray eps = noise(unconditional.add(conditional.sub(unconditional).mul(row.cfgScale())),
            sample, row.timestep());
        row.advance(update(step, row, sample, eps));
      }
    }
  }

  /**
   * Concatenates along the batch axis into {@code m}: DJL puts an operation's result in its first
   * operand's manager, so an empty first operand opened in {@code m} keeps the result out of the
   * rows' own managers (which live as long as their jobs).
   */
  public static NDArray stack(NDManager m, List<NDArray> parts, Shape partShape) {
    long[] dims = partShape.getShape().clone();
    dims[0] = 0;
    NDList all = new NDList(parts.size() + 1);
    all.add(m.zeros(new Shape(dims), parts.get(0).getDataType()));
    all.addAll(parts);
    return NDArrays.concat(all, 0);
  }

  /** A v-prediction model's output converted to a noise prediction; an epsilon model's as is. */
  private NDArray noise(NDArray guided, NDArray x, int t) {
    if (schedule.prediction() == NoiseSchedule.Prediction.V_PREDICTION) {
      double abT = schedule.alphaBar(t);
      // v = sqrt(ab) eps - sqrt(1 - ab) x0, so eps = sqrt(ab) v + sqrt(1 - ab) x.
      return guided.mul((float) Math.sqrt(abT)).add(x.mul((float) Math.sqrt(1 - abT)));
    }
    return guided;
  }

  private NDArray update(NDManager m, DiffusionRow row, NDArray x, NDArray eps) {
    int t = row.timestep();
    int next = row.nextTimestep();
    double abT = schedule.alphaBar(t);
    double abNext = schedule.alphaBar(next);
    switch (row.sampler()) {
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
        Shape shape = x.getShape();
        float[] z = new float[(int) shape.size()];
        DiffusionRow.fillGaussian(row.random(), z, 0, z.length);
        return mean.add(m.create(z, shape).mul((float) std));
      }
      default -> throw new IllegalArgumentException("unknown sampler " + row.sampler());
    }
  }

  private NDArray predictedClean(NDArray x, NDArray eps, double abT) {
    NDArray x0 = x.sub(eps.mul((float) Math.sqrt(1 - abT))).div((float) Math.sqrt(abT));
    return schedule.clipSample() ? x0.clip(-1f, 1f) : x0;
  }
}
