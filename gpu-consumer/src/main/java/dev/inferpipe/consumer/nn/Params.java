package dev.inferpipe.consumer.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A model's named weights, each with an explicit shape. Architectures declare every parameter up
 * front (no shape inference), so a model is fully defined by its code plus this map, which is
 * saved and loaded in DJL's NDList format.
 */
public final class Params implements AutoCloseable {
  private final NDManager manager;
  private final Map<String, NDArray> arrays = new LinkedHashMap<>();

  public Params(NDManager manager) {
    this.manager = manager;
  }

  public NDManager manager() {
    return manager;
  }

  /** He-style normal init scaled by fan-in, from a seeded Java RNG (reproducible training). */
  public NDArray normal(String name, SplittableRandom random, long fanIn, long... shape) {
    int size = (int) new Shape(shape).size();
    float[] values = new float[size];
    double std = Math.sqrt(1.0 / fanIn);
    for (int i = 0; i < size; i++) {
      values[i] = (float) (gaussian(random) * std);
    }
    return register(name, manager.create(values, new Shape(shape)));
  }

  public NDArray zeros(String name, long... shape) {
    return register(name, manager.zeros(new Shape(shape), DataType.FLOAT32));
  }

  public NDArray ones(String name, long... shape) {
    return register(name, manager.ones(new Shape(shape), DataType.FLOAT32));
  }

  private NDArray register(String name, NDArray array) {
    if (arrays.containsKey(name)) {
      throw new IllegalArgumentException("duplicate parameter " + name);
    }
    array.setName(name);
    arrays.put(name, array);
    return array;
  }

  public NDArray get(String name) {
    NDArray array = arrays.get(name);
    if (array == null) {
      throw new IllegalArgumentException("no parameter " + name);
    }
    return array;
  }

  public Map<String, NDArray> all() {
    return arrays;
  }

  public Collection<NDArray> arrays() {
    return arrays.values();
  }

  public long count() {
    return arrays.values().stream().mapToLong(a -> a.getShape().size()).sum();
  }

  public void save(OutputStream out) throws IOException {
    new NDList(arrays.values()).encode(out);
  }

  /** Replaces every declared parameter's values with the saved ones; shapes must match. */
  public void load(InputStream in) {
    NDList saved = NDList.decode(manager, in);
    Map<String, NDArray> byName = new LinkedHashMap<>();
    for (NDArray array : saved) {
      byName.put(array.getName(), array);
    }
    for (Map.Entry<String, NDArray> entry : arrays.entrySet()) {
      NDArray value = byName.remove(entry.getKey());
      if (value == null) {
        throw new IllegalStateException("weights lack parameter " + entry.getKey());
      }
      if (!value.getShape().equals(entry.getValue().getShape())) {
        throw new IllegalStateException("parameter " + entry.getKey() + " has shape "
            + value.getShape() + ", the architecture expects " + entry.getValue().getShape());
      }
      entry.getValue().set(value.toFloatArray());
      value.close();
    }
    if (!byName.isEmpty()) {
      throw new IllegalStateException("weights have unknown parameters " + byName.keySet());
    }
  }

  static double gaussian(SplittableRandom random) {
    double u1 = 1.0 - random.nextDouble();
    double u2 = random.nextDouble();
    return Math.sqrt(-2.0 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  @Override
  public void close() {
    arrays.values().forEach(NDArray::close);
    arrays.clear();
  }
}
