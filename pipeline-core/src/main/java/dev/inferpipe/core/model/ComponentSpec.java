package dev.inferpipe.core.model;

import java.util.LinkedHashMap;

/**
 * One graph of an exported model, as its card records it.
 *
 * @param file the graph, relative to the model directory ({@code unet/model.onnx})
 * @param engine the DJL engine that runs it: {@code PyTorch} for {@code .pt}, {@code OnnxRuntime}
 *     for {@code .onnx}
 * @param inputs the graph's inputs in call order, each with its dtype ({@code int64},
 *     {@code float32}, ...). TorchScript files carry no dtypes, so for them this is the only
 *     source; for ONNX it is what the graph declared when the card was written.
 */
public record ComponentSpec(String file, String engine, LinkedHashMap<String, String> inputs) {
  public static final String PYTORCH = "PyTorch";
  public static final String ONNX_RUNTIME = "OnnxRuntime";

  /** The engine a graph file needs, from its extension; empty for anything else. */
  public static java.util.Optional<String> engineFor(String file) {
    if (file.endsWith(".pt")) {
      return java.util.Optional.of(PYTORCH);
    }
    if (file.endsWith(".onnx")) {
      return java.util.Optional.of(ONNX_RUNTIME);
    }
    return java.util.Optional.empty();
  }
}
