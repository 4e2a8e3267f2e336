package dev.inferpipe.consumer.model;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;

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
 * @param torchThreads libtorch's intra-op threads, for the whole process (libtorch has one
 *     pool); 0 leaves libtorch's default, one per core of the machine, which in a container is
 *     the node's cores, not the pod's CPU limit. Fewer threads make a step wait less for a
 *     descheduled one on busy cores and compute less per second: on 2 shared cores, 1 thread
 *     cut a 1-step job's p99 from 270 to 55-63 ms and a batch of 8's throughput by 44%
 *     (docs/PERFORMANCE.md).
 */
public record Placement(Device device, int onnxThreads, int torchThreads) {
  public static final int DEFAULT_ONNX_THREADS = 1;
  public static final int DEFAULT_TORCH_THREADS = 0;

  public Placement {
    if (onnxThreads < 0) {
      throw new IllegalArgumentException("onnx threads must be >= 0, got " + onnxThreads);
    }
    if (torchThreads < 0) {
      throw new IllegalArgumentException("torch threads must be >= 0, got " + torchThreads);
    }
  }

  /** Gives libtorch {@code torchThreads} intra-op threads, unless 0; process-wide. */
  public void applyTorchThreads() {
    if (torchThreads > 0) {
      Engine.getEngine("PyTorch"); // loads libtorch, which JniUtils calls into
      JniUtils.setNumThreads(torchThreads);
    }
  }

  /** {@code device} with the default ONNX Runtime and libtorch threads. */
  public static Placement on(Device device) {
    return new Placement(device, DEFAULT_ONNX_THREADS, DEFAULT_TORCH_THREADS);
  }
}
