package dev.inferpipe.consumer.model;

import ai.djl.Device;

/**
 * Where and how a model's graphs run.
 *
 * @param device the device of every graph (and of the model's arrays)
 * @param onnxThreads ONNX Runtime's intra-op threads per graph. The default, 1, keeps ONNX
 *     Runtime's thread pool from competing with PyTorch's for the same cores: on 2 cores a UNet
 *     step right after the ONNX text encoder took 33-47 ms with ONNX Runtime's default pool and
 *     13-18 ms with 1 thread, the encoder itself unchanged at 13-15 ms (docs/PERFORMANCE.md).
 *     Raise it for a model whose heavy graphs are ONNX on a many-core CPU; 0 is ONNX Runtime's
 *     default (one per core).
 */
public record Placement(Device device, int onnxThreads) {
  public static final int DEFAULT_ONNX_THREADS = 1;

  public Placement {
    if (onnxThreads < 0) {
      throw new IllegalArgumentException("onnx threads must be >= 0, got " + onnxThreads);
    }
  }

  /** {@code device} with the default ONNX Runtime threads. */
  public static Placement on(Device device) {
    return new Placement(device, DEFAULT_ONNX_THREADS);
  }
}
