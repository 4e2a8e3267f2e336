package dev.inferpipe.consumer.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.inferpipe.consumer.diffusion.NoiseSchedule;
import dev.inferpipe.consumer.diffusion.PromptEncoder;
import dev.inferpipe.consumer.diffusion.TinyUNet;
import dev.inferpipe.consumer.shapes.ImageTensors;
import dev.inferpipe.consumer.shapes.ShapeColor;
import dev.inferpipe.consumer.shapes.ShapeKind;
import dev.inferpipe.consumer.shapes.ShapeRenderer;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Trains {@link TinyUNet} with the DDPM epsilon objective on freshly drawn shapes. Prompts are
 * "a {colour} {shape}", sometimes only the colour or only the shape, and dropped entirely with
 * probability 0.1 so the same network also learns the unconditional model that classifier-free
 * guidance needs.
 */
public final class DiffusionTraining {
  private DiffusionTraining() {}

  public static void run(TrainOptions options, NDManager root) throws Exception {
    PromptEncoder prompts = new PromptEncoder();
    NoiseSchedule schedule = NoiseSchedule.standard();
    TinyUNet unet = new TinyUNet(root, prompts.size(), options.seed());
    if (options.init() != null) {
      try (var in = Files.newInputStream(options.init())) {
        unet.params().load(in);
      }
      System.out.println("continuing from " + options.init());
    }
    System.out.printf("tiny-shapes-diffusion: %,d parameters, %d steps of batch %d%n",
        unet.params().count(), options.steps(), options.batch());
    SplittableRandom random = new SplittableRandom(options.seed());
    TrainingLoop.run(unet.params(), options.steps(), options.learningRate(), 0.999f,
        batch -> loss(batch, unet, prompts, schedule, random, options.batch()));
    TrainingLoop.save(unet.params(), options.out());
  }

  private static NDArray loss(NDManager m, TinyUNet unet, PromptEncoder prompts,
      NoiseSchedule schedule, SplittableRandom random, int batchSize) {
    List<BufferedImage> images = new ArrayList<>(batchSize);
    float[] cond = new float[batchSize * prompts.size()];
    float[] time = new float[batchSize];
    float[] signal = new float[batchSize];
    float[] noiseScale = new float[batchSize];
    ShapeColor[] colors = ShapeColor.values();
    ShapeKind[] kinds = ShapeKind.values();
    for (int b = 0; b < batchSize; b++) {
      ShapeColor color = colors[random.nextInt(colors.length)];
      ShapeKind kind = kinds[random.nextInt(kinds.length)];
      images.add(ShapeRenderer.single(kind, color, 32, random));
      double u = random.nextDouble();
      if (u >= 0.1) { // 10% unconditional
        if (u < 0.85 || u >= 0.95) {
          cond[b * prompts.size() + prompts.indexOf(color.word())] = 1f;
        }
        if (u < 0.95) {
          cond[b * prompts.size() + prompts.indexOf(kind.word())] = 1f;
        }
      }
      int t = random.nextInt(schedule.steps());
      time[b] = (float) t / schedule.steps();
      signal[b] = (float) Math.sqrt(schedule.alphaBar(t));
      noiseScale[b] = (float) Math.sqrt(1 - schedule.alphaBar(t));
    }
    NDArray x0 = ImageTensors.toTensor(m, images);
    NDArray noise = m.randomNormal(x0.getShape());
    NDArray xt = x0.mul(m.create(signal).reshape(batchSize, 1, 1, 1))
        .add(noise.mul(m.create(noiseScale).reshape(batchSize, 1, 1, 1)));
    NDArray predicted = unet.predictNoise(xt, m.create(time),
        m.create(cond, new Shape(batchSize, prompts.size())));
    return predicted.sub(noise).square().mean();
  }
}
