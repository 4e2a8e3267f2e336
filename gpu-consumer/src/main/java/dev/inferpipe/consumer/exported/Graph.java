package dev.inferpipe.consumer.exported;

import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.repository.zoo.Criteria;
import dev.inferpipe.consumer.model.Placement;
import ai.djl.repository.zoo.ModelNotFoundException;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.training.ParameterStore;
import ai.djl.translate.NoopTranslator;
import dev.inferpipe.consumer.model.ModelLoadException;
import dev.inferpipe.core.model.ComponentSpec;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * One exported graph (a TorchScript {@code .pt} or an ONNX {@code .onnx}), loaded through DJL
 * {@link Criteria} on the engine its extension names, called with named inputs and returning its
 * first output. Integer inputs are cast to the dtype the graph declares (ONNX metadata, or the
 * card for TorchScript, which records none); ONNX inputs go by name, TorchScript ones by position.
 */
public final class Graph implements AutoCloseable {
  private final String modelId;
  private final String role;
  private final ComponentSpec spec;
  private final LinkedHashMap<String, DataType> inputs;
  private final ZooModel<NDList, NDList> model;
  private final boolean onnx;

  private Graph(String modelId, String role, ComponentSpec spec,
      LinkedHashMap<String, DataType> inputs, ZooModel<NDList, NDList> model) {
    this.modelId = modelId;
    this.role = role;
    this.spec = spec;
    this.inputs = inputs;
    this.model = model;
    this.onnx = spec.engine().equals(ComponentSpec.ONNX_RUNTIME);
  }

  /**
   * Loads {@code spec.file()} under {@code dir}.
   *
   * @param required input names the task feeds; a graph declaring none of them, or any other
   *     input the task cannot feed, is refused here rather than at the first job
   * @param optional inputs the task can feed when the graph declares them (an attention mask)
   */
  public static Graph load(String modelId, String role, Path dir, ComponentSpec spec,
      Placement placement, Set<String> required, Set<String> optional) {
    Device device = placement.device();
    Path file = dir.resolve(spec.file());
    String engine = ComponentSpec.engineFor(spec.file()).orElseThrow(() -> new ModelLoadException(
        modelId, role + ": " + spec.file() + " is neither .pt (TorchScript) nor .onnx"));
    if (!engine.equals(spec.engine())) {
      throw new ModelLoadException(modelId, role + ": the card says engine " + spec.engine()
          + " for " + spec.file() + ", which needs " + engine);
    }
    LinkedHashMap<String, DataType> declared = new LinkedHashMap<>();
    if (engine.equals(ComponentSpec.ONNX_RUNTIME)) {
      try {
        for (OnnxSignature.Tensor input : OnnxSignature.read(file).inputs()) {
          declared.put(input.name(), dataType(modelId, role, input.name(), input.dtype()));
        }
      } catch (IOException e) {
        throw new ModelLoadException(modelId, role + ": " + e.getMessage(), e);
      }
    } else {
      if (spec.inputs() == null || spec.inputs().isEmpty()) {
        throw new ModelLoadException(modelId, role + ": a TorchScript graph needs its inputs and "
            + "dtypes in model.json (components." + role + ".inputs)");
      }
      spec.inputs().forEach((name, dtype) -> declared.put(name, dataType(modelId, role, name, dtype)));
    }
    for (String name : required) {
      if (!declared.containsKey(name)) {
        throw new ModelLoadException(modelId, role + ": the graph has no input '" + name
            + "' (it declares " + declared.keySet() + ")");
      }
    }
    for (String name : declared.keySet()) {
      if (!required.contains(name) && !optional.contains(name)) {
        throw new ModelLoadException(modelId, role + ": the graph declares input '" + name
            + "', which the " + role + " contract does not feed (it feeds " + required
            + (optional.isEmpty() ? "" : " and optionally " + optional) + ")");
      }
    }
    var builder = Criteria.builder()
        .setTypes(NDList.class, NDList.class)
        .optModelPath(file.getParent())
        .optModelName(stripExtension(file.getFileName().toString()))
        .optEngine(engine)
        .optDevice(device)
        .optTranslator(new NoopTranslator());
    if (engine.equals(ComponentSpec.ONNX_RUNTIME)) {
      builder.optOption("intraOpNumThreads", Integer.toString(placement.onnxThreads()));
    }
    Criteria<NDList, NDList> criteria = builder.build();
    try {
      return new Graph(modelId, role, spec, declared, criteria.loadModel());
    } catch (IOException | ModelNotFoundException | MalformedModelException | RuntimeException e) {
      throw new ModelLoadException(modelId, role + ": " + engine + " cannot load " + spec.file()
          + ": " + e.getMessage(), e);
    }
  }

  private static String stripExtension(String name) {
    int dot = name.lastIndexOf('.');
    return dot < 0 ? name : name.substring(0, dot);
  }

  static DataType dataType(String modelId, String role, String input, String dtype) {
    return switch (dtype.toLowerCase(Locale.ROOT)) {
      case "float32", "float" -> DataType.FLOAT32;
      case "float16", "half" -> DataType.FLOAT16;
      case "float64", "double" -> DataType.FLOAT64;
      case "int64", "long" -> DataType.INT64;
      case "int32", "int" -> DataType.INT32;
      case "bool" -> DataType.BOOLEAN;
      default -> throw new ModelLoadException(modelId, role + ": input '" + input
          + "' has dtype " + dtype + ", which inferpipe cannot feed");
    };
  }

  public String role() {
    return role;
  }

  public String file() {
    return spec.file();
  }

  public String engine() {
    return spec.engine();
  }

  /** The graph's inputs in call order, with the dtype each is fed in. */
  public Map<String, DataType> inputs() {
    return java.util.Collections.unmodifiableMap(inputs);
  }

  public boolean declares(String input) {
    return inputs.containsKey(input);
  }

  /**
   * Runs the graph on {@code given} (every declared input by name) and returns its first output
   * in {@code out}, as float32 when it is floating point.
   */
  public NDArray call(NDManager out, Map<String, NDArray> given) {
    NDList list = new NDList(inputs.size());
    try (NDManager scratch = out.newSubManager()) {
      for (Map.Entry<String, DataType> input : inputs.entrySet()) {
        NDArray value = given.get(input.getKey());
        if (value == null) {
          throw new IllegalStateException("no value for input '" + input.getKey() + "'");
        }
        NDArray typed = value.getDataType() == input.getValue() ? value
            : value.toType(input.getValue(), false);
        if (typed != value) {
          typed.attach(scratch);
        }
        if (onnx) {
          typed.setName(input.getKey());
        }
        list.add(typed);
      }
      NDList result = model.getBlock().forward(new ParameterStore(out, false), list, false);
      if (result.isEmpty()) {
        throw new IllegalStateException(role + " returned no output");
      }
      // PyTorch puts outputs in the first input's manager (maybe the scratch one): move it out.
      // ONNX Runtime's are its own arrays: copy into the caller's engine and free them.
      NDArray raw = result.get(0);
      NDArray first = out.from(raw);
      first.attach(out);
      for (NDArray other : result) {
        if (other != first) {
          other.close();
        }
      }
      if (first.getDataType() == DataType.FLOAT16 || first.getDataType() == DataType.FLOAT64) {
        first = first.toType(DataType.FLOAT32, false);
      }
      return first;
    } finally {
      for (NDArray array : list) {
        if (onnx) {
          array.setName(null);
        }
      }
    }
  }

  @Override
  public void close() {
    model.close();
  }

  @Override
  public String toString() {
    return modelId + "/" + role + " (" + spec.file() + ", " + spec.engine() + ")";
  }
}
