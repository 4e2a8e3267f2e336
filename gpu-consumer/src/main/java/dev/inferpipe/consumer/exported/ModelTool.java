package dev.inferpipe.consumer.exported;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import dev.inferpipe.consumer.model.DiffusionModel;
import dev.inferpipe.consumer.model.LoadedModel;
import dev.inferpipe.consumer.model.ModelArtifacts;
import dev.inferpipe.consumer.model.ModelLoadException;
import dev.inferpipe.consumer.model.ModelLoader;
import dev.inferpipe.consumer.model.ModelRepository;
import dev.inferpipe.consumer.model.VqaModel;
import dev.inferpipe.consumer.pipeline.GeneratedImage;
import dev.inferpipe.consumer.pipeline.JobFailedException;
import dev.inferpipe.consumer.pipeline.StepTelemetry;
import dev.inferpipe.consumer.pipeline.Txt2ImgPipeline;
import dev.inferpipe.consumer.pipeline.VqaAnswer;
import dev.inferpipe.consumer.pipeline.VqaPipeline;
import dev.inferpipe.core.job.Txt2ImgInput;
import dev.inferpipe.core.job.VqaInput;
import dev.inferpipe.core.model.ModelSpec;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Tracer;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;

/**
 * {@code ./pipeline model card <dir>} and {@code ./pipeline model check <dir>} for model authors.
 * {@code check} does what the consumer does (checksums, every graph through DJL Criteria), prints
 * each graph's inputs with their dtypes and shapes, then runs one small job through the real
 * pipeline with timings. Any problem ends it with a specific message and exit status 1.
 */
public final class ModelTool {
  private ModelTool() {}

  /** @return the process exit status */
  public static int run(List<String> args, PrintStream out, PrintStream err) {
    java.util.Map<String, String> sources = new java.util.LinkedHashMap<>();
    for (int i = 2; i + 1 < args.size() && args.get(i).equals("--source"); i += 2) {
      String[] pair = args.get(i + 1).split("=", 2);
      if (pair.length == 2) {
        sources.put(pair[0], pair[1]);
      }
    }
    if (args.size() != 2 + 2 * sources.size() || !List.of("card", "check").contains(args.get(0))
        || (args.get(0).equals("check") && !sources.isEmpty())) {
      err.println("usage: ./pipeline model card <dir> [--source <file>=classpath:<resource> ...]");
      err.println("                                      write <dir>/model.json (task, sizes, "
          + "limits, inputs, sha256 of every file; files that ship in a jar)");
      err.println("       ./pipeline model check <dir>   load every graph, print it, run one job");
      return 2;
    }
    Path dir = Path.of(args.get(1)).toAbsolutePath().normalize();
    if (!Files.isDirectory(dir)) {
      err.println("error: " + dir + " is not a directory");
      return 1;
    }
    try {
      if (args.get(0).equals("card")) {
        ModelSpec spec = new ModelCardWriter(sources).write(dir);
        out.println("wrote " + dir.resolve("model.json") + ": " + spec.task().wireName() + ", "
            + spec.format() + ", " + spec.width() + "x" + spec.height() + ", "
            + spec.components().size() + " graphs, " + spec.files().size() + " files");
        return 0;
      }
      return check(dir, out);
    } catch (ModelLoadException | JobFailedException | IllegalStateException
        | java.io.UncheckedIOException e) {
      err.println("error: " + e.getMessage());
      return 1;
    }
  }

  private static int check(Path dir, PrintStream out) {
    String id = dir.getFileName().toString();
    ModelRepository repository = new ModelRepository(dir.getParent().toString(),
        dir.getParent(), () -> null);
    long start = System.nanoTime();
    ModelArtifacts artifacts = repository.fetch(id);
    ModelSpec spec = artifacts.spec();
    out.printf("%s: %s (%s), %d files, %d bytes, checksums ok (%d ms)%n", id,
        spec.task().wireName(), spec.format(),
        spec.files().size(), artifacts.bytes(), millis(start));
    start = System.nanoTime();
    Tracer tracer = OpenTelemetry.noop().getTracer("inferpipe");
    try (LoadedModel model = new ModelLoader(Device.cpu(), tracer).load(artifacts)) {
      out.printf("loaded in %d ms%n", millis(start));
      List<Graph> graphs = model instanceof DiffusersModel d ? d.graphs()
          : model instanceof EncoderDecoderModel e ? e.graphs() : List.of();
      for (Graph graph : graphs) {
        out.printf("  %-13s %-22s %-12s%n", graph.role(), graph.file(), graph.engine());
        Map<String, String> shapes = onnxShapes(dir, graph);
        for (Map.Entry<String, DataType> input : graph.inputs().entrySet()) {
          out.printf("      in  %-24s %-8s %s%n", input.getKey(), input.getValue(), shapes.getOrDefault(input.getKey(), ""));
        }
        shapes.forEach((name, shape) -> {
          if (name.startsWith("out:")) {
            out.printf("      out %-24s %s%n", name.substring(4), shape);
          }
        });
      }
      start = System.nanoTime();
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      if (model instanceof DiffusionModel diffusion) {
        GeneratedImage image = new Txt2ImgPipeline(tracer, StepTelemetry.OFF, registry).run(
            diffusion, List.of(new Txt2ImgInput("a check", "", 2, 1.0, 0L, "ddim", spec.width(),
                spec.height())), () -> false).get(0);
        out.printf("smoke txt2img: 2 ddim steps, %dx%d PNG of %d bytes, %d unknown words, %d ms%n",
            spec.width(), spec.height(), image.png().length, image.unknownWords(), millis(start));
      } else if (model instanceof VqaModel vqa) {
        VqaAnswer answer = new VqaPipeline(tracer, StepTelemetry.OFF, registry, (uri, tenant) -> {
          throw new IllegalStateException("no S3 here");
        }, Duration.ofMinutes(5), System::nanoTime).run(vqa, new VqaInput(grey(spec), 
            "what is in the picture?", Math.min(4, vqa.maxNewTokens())), () -> false);
        out.printf("smoke vqa: answer \"%s\" (%d tokens, confidence %.4f), %d ms%n",
            answer.answer(), answer.tokens().size(), answer.confidence(), millis(start));
      }
    }
    out.println("ok");
    return 0;
  }

  private static Map<String, String> onnxShapes(Path dir, Graph graph) {
    if (!graph.file().endsWith(".onnx")) {
      return Map.of();
    }
    try {
      OnnxSignature signature = OnnxSignature.read(dir.resolve(graph.file()));
      Map<String, String> shapes = new java.util.LinkedHashMap<>();
      signature.inputs().forEach(t -> shapes.put(t.name(), t.shapeText()));
      signature.outputs().forEach(t -> shapes.put("out:" + t.name(), t.dtype() + " " + t.shapeText()));
      return shapes;
    } catch (IOException e) {
      throw new ModelLoadException(dir.getFileName().toString(), e.getMessage(), e);
    }
  }

  private static String grey(ModelSpec spec) {
    BufferedImage image = new BufferedImage(Math.max(8, spec.width()), Math.max(8, spec.height()),
        BufferedImage.TYPE_INT_RGB);
    try (ByteArrayOutputStream bytes = new ByteArrayOutputStream()) {
      ImageIO.write(image, "png", bytes);
      return Base64.getEncoder().encodeToString(bytes.toByteArray());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static long millis(long startNanos) {
    return (System.nanoTime() - startNanos) / 1_000_000;
  }
}
