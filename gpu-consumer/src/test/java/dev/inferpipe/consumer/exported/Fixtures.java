package dev.inferpipe.consumer.exported;

import ai.djl.Device;
import dev.inferpipe.consumer.model.LoadedModel;
import dev.inferpipe.consumer.model.ModelLoader;
import dev.inferpipe.consumer.model.ModelRepository;
import dev.inferpipe.core.job.JobCodec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.stream.Stream;
import tools.jackson.databind.JsonNode;

/**
 * The exported-model fixtures of {@code testdata/models} (made by real PyTorch with
 * {@code make_fixtures.py}) and their Python reference outputs. {@code fx-minilm}'s text
 * encoder and tokenizer are the all-MiniLM-L6-v2 files Maven unpacked from the langchain4j jar
 * into {@code target/minilm}; {@link #minilmRoot()} puts them in place in a copy.
 */
public final class Fixtures {
  public static final Path ROOT = Path.of("..", "testdata", "models").toAbsolutePath().normalize();
  private static final Path MINILM_JAR_FILES = Path.of("target", "minilm");
  private static final JobCodec CODEC = new JobCodec();

  private Fixtures() {}

  public static JsonNode reference(String name) {
    try {
      return CODEC.parseTree(Files.readAllBytes(ROOT.resolve("reference").resolve(name + ".json")));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static byte[] referenceImage(String relative) {
    try {
      return Files.readAllBytes(ROOT.resolve("reference").resolve(relative));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Loads a fixture the way the consumer does: checksums, then every graph through DJL. */
  public static LoadedModel load(Path root, String id) {
    ModelRepository repository = new ModelRepository(root.toString(), Path.of("target",
        "model-cache"), () -> null);
    return new ModelLoader(Device.cpu()).load(repository.fetch(id));
  }

  public static LoadedModel load(String id) {
    return load(id.equals("fx-minilm") ? minilmRoot() : ROOT, id);
  }

  /** A model root holding fx-minilm with the jar's files in place. */
  public static synchronized Path minilmRoot() {
    Path root = Path.of("target", "fixtures-minilm").toAbsolutePath();
    Path model = root.resolve("fx-minilm");
    copyTree(ROOT.resolve("fx-minilm"), model);
    copy(MINILM_JAR_FILES.resolve("all-minilm-l6-v2.onnx"), model.resolve("text_encoder/model.onnx"));
    copy(MINILM_JAR_FILES.resolve("all-minilm-l6-v2-tokenizer.json"),
        model.resolve("tokenizer/tokenizer.json"));
    return root;
  }

  /** A writable copy of a fixture under {@code dir}, to break on purpose. */
  public static Path copyOf(String id, Path dir) {
    Path target = dir.resolve(id);
    copyTree(id.equals("fx-minilm") ? minilmRoot().resolve(id) : ROOT.resolve(id), target);
    return target;
  }

  private static void copy(Path from, Path to) {
    try {
      Files.createDirectories(to.getParent());
      if (!Files.exists(to) || Files.size(to) != Files.size(from)) {
        Files.copy(from, to, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static void copyTree(Path from, Path to) {
    try (Stream<Path> walk = Files.walk(from)) {
      for (Path path : (Iterable<Path>) walk.filter(Files::isRegularFile)::iterator) {
        Path target = to.resolve(from.relativize(path).toString());
        Files.createDirectories(target.getParent());
        Files.copy(path, target, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A reference tensor's flat data as floats. */
  public static float[] floats(JsonNode tensor) {
    JsonNode data = tensor.path("data");
    float[] values = new float[data.size()];
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) data.get(i).asDouble();
    }
    return values;
  }

  public static long[] longs(JsonNode tensorOrArray) {
    JsonNode data = tensorOrArray.isArray() ? tensorOrArray : tensorOrArray.path("data");
    long[] values = new long[data.size()];
    for (int i = 0; i < values.length; i++) {
      values[i] = data.get(i).asLong();
    }
    return values;
  }

  public static long[] shape(JsonNode tensor) {
    return longs(tensor.path("shape"));
  }

  /** The largest absolute difference, and a failure when lengths differ. */
  public static double maxAbsDiff(float[] a, float[] b) {
    if (a.length != b.length) {
      throw new AssertionError("lengths differ: " + a.length + " vs " + b.length);
    }
    double max = 0;
    for (int i = 0; i < a.length; i++) {
      max = Math.max(max, Math.abs((double) a[i] - b[i]));
    }
    return max;
  }
}
