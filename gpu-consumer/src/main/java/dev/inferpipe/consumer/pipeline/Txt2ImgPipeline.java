package dev.inferpipe.consumer.pipeline;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.inferpipe.consumer.diffusion.DiffusionSampler;
import dev.inferpipe.consumer.diffusion.Sampler;
import dev.inferpipe.consumer.model.DiffusionModel;
import dev.inferpipe.core.job.ErrorCode;
import dev.inferpipe.core.job.Sha256;
import dev.inferpipe.core.job.Txt2ImgInput;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Scope;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import javax.imageio.ImageIO;

/**
 * Text to image: {@code diffusion.encode_prompt} -> {@code diffusion.sample} (one
 * {@code diffusion.step} per step) -> {@code diffusion.decode}. {@link #run} works on a batch of
 * inputs that share sampler, steps, guidance and size, each with its own prompt and seed; the
 * batch scheduler uses {@link #encode} and {@link #decode} around rows that join and leave.
 */
public final class Txt2ImgPipeline {
  static {
    // Encode and decode images in memory. ImageIO's default file cache writes a temp file per
    // image (a read-only /tmp breaks it) and registers the stream with a JVM shutdown hook that
    // closes it: a graceful stop (SIGTERM) would fail the job being encoded at that moment.
    ImageIO.setUseCache(false);
  }

  private final Tracer tracer;
  private final StepTelemetry stepTelemetry;
  private final MeterRegistry registry;

  public Txt2ImgPipeline(Tracer tracer, StepTelemetry stepTelemetry, MeterRegistry registry) {
    this.tracer = tracer;
    this.stepTelemetry = stepTelemetry;
    this.registry = registry;
  }

  public List<GeneratedImage> run(DiffusionModel model, List<Txt2ImgInput> batch,
      BooleanSupplier cancelled) {
    Txt2ImgInput first = batch.get(0);
    for (Txt2ImgInput in : batch) {
      if (!in.sampler().equals(first.sampler()) || !in.steps().equals(first.steps())
          || !in.cfgScale().equals(first.cfgScale()) || !in.width().equals(first.width())
          || !in.height().equals(first.height())) {
        throw new IllegalArgumentException("a batch must share sampler, steps, cfg_scale and size");
      }
    }
    String modelId = model.spec().modelId();
    try (NDManager manager = model.workspace().newSubManager()) {
      DiffusionModel.Prompts prompts;
      Span encode = tracer.spanBuilder("diffusion.encode_prompt").startSpan();
      try (Scope ignored = encode.makeCurrent()) {
        prompts = encode(model, manager, batch);
        encode.setAttribute("prompt_hash", Sha256.hex(first.prompt()));
        encode.setAttribute("prompt.unknown_words", (long) prompts.unknownWords()[0]);
        encode.setAttribute("batch.size", (long) batch.size());
        encode.setAttribute("text_encoder.rows", (long) prompts.encodedRows());
      } catch (RuntimeException e) {
        encode.recordException(e);
        encode.setStatus(io.opentelemetry.api.trace.StatusCode.ERROR);
        throw e;
      } finally {
        encode.end();
      }

      long[] seeds = batch.stream().mapToLong(Txt2ImgInput::seed).toArray();
      DiffusionModel.SampleShape shape = model.sampleShape();
      Span sample = tracer.spanBuilder("diffusion.sample")
          .setAttribute("diffusion.sampler", first.sampler())
          .setAttribute("diffusion.steps", (long) first.steps())
          .setAttribute("diffusion.cfg_scale", first.cfgScale())
          .setAttribute("diffusion.seed", seeds[0])
          .setAttribute("batch.size", (long) batch.size())
          .startSpan();
      NDArray samples;
      try (Scope ignored = sample.makeCurrent()) {
        DiffusionSampler sampler = new DiffusionSampler(model, model.schedule());
        samples = sampler.sample(manager, new DiffusionSampler.Request(
                Sampler.parse(first.sampler()), first.steps(), first.cfgScale().floatValue(), seeds,
                prompts.conditioning(), shape.channels(), shape.height(), shape.width()),
            new StepTracer(tracer, stepTelemetry, "diffusion.step", "diffusion.step.index",
                stepTimer(modelId, batch.size()), cancelled));
      } catch (RuntimeException | OutOfMemoryError e) {
        sample.recordException(e);
        sample.setStatus(io.opentelemetry.api.trace.StatusCode.ERROR);
        throw asModelFailure(modelId, "unet", classify(e));
      } finally {
        sample.end();
      }

      Span decode = tracer.spanBuilder("diffusion.decode").startSpan();
      try (Scope ignored = decode.makeCurrent()) {
        List<byte[]> pngs = decode(model, samples, first.height(), first.width());
        List<GeneratedImage> result = new ArrayList<>();
        long bytes = 0;
        for (int b = 0; b < pngs.size(); b++) {
          bytes += pngs.get(b).length;
          result.add(new GeneratedImage(pngs.get(b), prompts.unknownWords()[b]));
        }
        decode.setAttribute("image.format", "png");
        decode.setAttribute("image.bytes", bytes);
        return result;
      } catch (RuntimeException e) {
        decode.recordException(e);
        decode.setStatus(io.opentelemetry.api.trace.StatusCode.ERROR);
        throw e;
      } finally {
        decode.end();
      }
    }
  }

  /**
   * The conditioning of a batch's prompts then its negative prompts, (2B, ...), with each prompt's
   * unknown-word count; a failing text encoder is the model's fault.
   */
  public DiffusionModel.Prompts encode(DiffusionModel model, NDManager manager,
      List<Txt2ImgInput> batch) {
    try {
      List<String> texts = new ArrayList<>();
      batch.forEach(in -> texts.add(in.prompt()));
      batch.forEach(in -> texts.add(in.negativePrompt()));
      return model.encodePrompts(manager, texts);
    } catch (RuntimeException e) {
      throw asModelFailure(model.spec().modelId(), "text encoder", e);
    }
  }

  /**
   * Final samples, (B, C, h, w), to one PNG per row. A decoder whose output has the wrong shape,
   * or a row with a non-finite pixel, is the model's fault ({@code INVALID_MODEL}).
   */
  public List<byte[]> decode(DiffusionModel model, NDArray samples, int height, int width) {
    String modelId = model.spec().modelId();
    long rows = samples.getShape().get(0);
    float[] pixels;
    try {
      NDArray images = model.decode(samples);
      long[] dims = images.getShape().getShape();
      if (dims.length != 4 || dims[0] != rows || dims[1] != 3 || dims[2] != height
          || dims[3] != width) {
        throw new JobFailedException(ErrorCode.INVALID_MODEL, "model '" + modelId
            + "' decoded images of shape " + images.getShape() + ", expected (" + rows + ", 3, "
            + height + ", " + width + ")");
      }
      pixels = images.toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray();
    } catch (RuntimeException e) {
      throw asModelFailure(modelId, "vae decoder", e);
    }
    List<byte[]> result = new ArrayList<>();
    int plane = 3 * height * width;
    for (int b = 0; b < rows; b++) {
      for (int i = b * plane; i < (b + 1) * plane; i++) {
        if (!Float.isFinite(pixels[i])) {
          throw new JobFailedException(ErrorCode.INVALID_MODEL, "model '" + modelId
              + "' produced a non-finite pixel");
        }
      }
      result.add(png(ImageTensors.toImage(pixels, b, height, width)));
    }
    return result;
  }

  /** Time per sampling step, by the number of rows the step's model call ran. */
  public Timer stepTimer(String modelId, int batchSize) {
    return Timer.builder("inference.sampling.step")
        .tags("task", "txt2img", "model", modelId, "batch_size", Integer.toString(batchSize))
        .register(registry);
  }

  /**
   * A component that fails on a well-formed job (wrong shape, a graph that throws) is the
   * model's fault: {@code INVALID_MODEL}, naming the model. Job failures pass through.
   */
  public static RuntimeException asModelFailure(String modelId, String component, RuntimeException e) {
    if (e instanceof JobFailedException || e instanceof JobCancelledException) {
      return e;
    }
    return new JobFailedException(ErrorCode.INVALID_MODEL, "model '" + modelId + "': " + component
        + " failed: " + e.getMessage(), e);
  }

  public static RuntimeException classify(Throwable e) {
    if (e instanceof JobCancelledException cancelled) {
      return cancelled;
    }
    String message = String.valueOf(e.getMessage()).toLowerCase(java.util.Locale.ROOT);
    if (e instanceof OutOfMemoryError || message.contains("out of memory")
        || message.contains("not enough memory")) {
      return new JobFailedException(ErrorCode.RESOURCE_EXHAUSTED, "out of memory: " + e.getMessage(), e);
    }
    return e instanceof RuntimeException runtime ? runtime
        : new JobFailedException(ErrorCode.INTERNAL, e.toString(), e);
  }

  static byte[] png(java.awt.image.BufferedImage image) {
    try (ByteArrayOutputStream out = new ByteArrayOutputStream()) {
      ImageIO.write(image, "png", out);
      return out.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
