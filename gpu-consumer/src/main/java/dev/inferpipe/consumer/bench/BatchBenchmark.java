package dev.inferpipe.consumer.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.inferpipe.consumer.diffusion.DiffusionRow;
import dev.inferpipe.consumer.diffusion.DiffusionSampler;
import dev.inferpipe.consumer.diffusion.Sampler;
import dev.inferpipe.consumer.model.DiffusionModel;
import dev.inferpipe.consumer.model.ModelLoader;
import dev.inferpipe.consumer.model.ModelRepository;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code ./pipeline bench batch}: one sampling step of the bundled diffusion model over B rows
 * (each a job with guidance, so the UNet sees 2B samples), for several B, interleaved round by
 * round so that machine noise hits every size alike. Reports the time per step and the
 * throughput in row-steps per second against B = 1: what batching across jobs can gain on this
 * device, before any Kafka or S3.
 */
public final class BatchBenchmark {
  private BatchBenchmark() {}

  public static int run(List<String> args, PrintStream out) throws Exception {
    int rounds = 10;
    int steps = 10;
    int[] sizes = {1, 2, 4, 8, 16, 32};
    String device = "cpu";
    for (int i = 0; i + 1 < args.size(); i += 2) {
      switch (args.get(i)) {
        case "--rounds" -> rounds = Integer.parseInt(args.get(i + 1));
        case "--sizes" -> sizes = Arrays.stream(args.get(i + 1).split(","))
            .mapToInt(Integer::parseInt).toArray();
        case "--device" -> device = args.get(i + 1);
        default -> throw new IllegalArgumentException("unknown option " + args.get(i));
      }
    }
    Device on = device.equals("gpu") ? Device.gpu() : Device.cpu();
    ModelRepository repository = new ModelRepository("classpath:models/",
        Path.of(System.getProperty("java.io.tmpdir"), "inferpipe-bench-models"), () -> null);
    Map<Integer, List<Double>> stepMs = new LinkedHashMap<>();
    for (int size : sizes) {
      stepMs.put(size, new ArrayList<>());
    }
    try (DiffusionModel model = (DiffusionModel) new ModelLoader(on).load(
        repository.fetch("tiny-shapes-diffusion"))) {
      DiffusionSampler sampler = new DiffusionSampler(model, model.schedule());
      DiffusionModel.SampleShape shape = model.sampleShape();
      for (int round = -2; round < rounds; round++) { // two warm-up rounds
        for (int size : sizes) {
          List<DiffusionRow> rows = new ArrayList<>();
          try (NDManager m = model.workspace().newSubManager()) {
            NDArray conditioning = model.encodePrompts(m, List.of("a red circle", "")).conditioning();
            for (int b = 0; b < size; b++) {
              NDArray pair = conditioning.get(new NDIndex("0:2")).duplicate();
              rows.add(DiffusionRow.start(model.workspace(), model.schedule(), Sampler.DDIM,
                  steps + 1, 3f, 1000 + b, pair, shape.channels(), shape.height(), shape.width()));
            }
            sampler.step(model.workspace(), rows); // a first step outside the timing
            long start = System.nanoTime();
            for (int s = 0; s < steps; s++) {
              sampler.step(model.workspace(), rows);
            }
            // Wait for the device: read one value of every row back.
            rows.forEach(r -> r.sample().getFloat(0, 0, 0, 0));
            if (round >= 0) {
              stepMs.get(size).add((System.nanoTime() - start) / 1e6 / steps);
            }
          } finally {
            rows.forEach(DiffusionRow::close);
          }
        }
      }
    }
    out.printf("one sampling step over B rows (2B UNet samples with guidance), %s, %d rounds x %d"
        + " steps, median:%n", on, rounds, steps);
    out.printf("%-5s %12s %16s %12s%n", "B", "ms / step", "row-steps / s", "vs B=1");
    double base = 0;
    for (Map.Entry<Integer, List<Double>> e : stepMs.entrySet()) {
      double ms = StepBenchmark.median(e.getValue());
      double rate = e.getKey() * 1000.0 / ms;
      if (base == 0) {
        base = rate;
      }
      out.printf("%-5d %12.2f %16.1f %11.2fx%n", e.getKey(), ms, rate, rate / base);
    }
    return 0;
  }
}
