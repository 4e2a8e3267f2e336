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
 * {@code diffusion.step} per step) -> {@code diffusion.decode}. Works on a batch of inputs that
 * share sampler, steps, guidance and size; each keeps its own prompt and seed.
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
        List<String> texts = new ArrayList<>();
        batch.forEach(in -> texts.add(in.prompt()));
        batch.forEach(in -> texts.add(in.negativePrompt()));
        prompts = model.encodePrompts(manager, texts);
        encode.setAttribute("prompt_hash", Sha256.hex(first.prompt()));
        encode.setAttribute("prompt.unknown_words", (long) prompts.unknownWords()[0]);
        encode.setAttribute("batch.size", (long) batch.size());
      } catch (RuntimeException e) {
        encode.recordException(e);
        encode.setStatus(io.opentelemetry.api.trace.StatusCode.ERROR);
        throw asModelFailure(modelId, "text encoder", e);
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
        Timer stepTimer = Timer.builder("inference.sampling.step")
            .description("time per sampling / generate step")
            .tags("task", "txt2img", "model", modelId)
            .publishPercentileHistogram().register(registry);
        DiffusionSampler sampler = new DiffusionSampler(model, model.schedule());
        samples = sampler.sample(manager, new DiffusionSampler.Request(
                Sampler.parse(first.sampler()), first.steps(), first.cfgScale().floatValue(), seeds,
                prompts.conditioning(), shape.channels(), shape.height(), shape.width()),
            new StepTracer(tracer, stepTelemetry, "diffusion.step", "diffusion.step.index",
                stepTimer, cancelled));
      } catch (RuntimeException | OutOfMemoryError e) {
        sample.recordException(e);
        sample.setStatus(io.opentelemetry.api.trace.StatusCode.ERROR);
        throw asModelFailure(modelId, "unet", classify(e));
      } finally {
        sample.end();
      }

      Span decode = tracer.spanBuilder("diffusion.decode").startSpan();
      try (Scope ignored = decode.makeCurrent()) {
        NDArray images = model.decode(samples);
        long[] dims = images.getShape().getShape();
        if (dims.length != 4 || dims[0] != batch.size() || dims[1] != 3
            || dims[2] != first.height() || dims[3] != first.width()) {
          throw new JobFailedException(ErrorCode.INVALID_MODEL, "model '" + modelId
              + "' decoded images of shape " + images.getShape() + ", expected ("
              + batch.size() + ", 3, " + first.height() + ", " + first.width() + ")");
        }
        float[] pixels = images.toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray();
        List<GeneratedImage> result = new ArrayList<>();
        long bytes = 0;
        for (int b = 0; b < batch.size(); b++) {
          byte[] png = png(ImageTensors.toImage(pixels, b, first.height(), first.width()));
          bytes += png.length;
          result.add(new GeneratedImage(png, prompts.unknownWords()[b]));
        }
        decode.setAttribute("image.format", "png");
        decode.setAttribute("image.bytes", bytes);
        return result;
      } catch (RuntimeException e) {
        decode.recordException(e);
        decode.setStatus(io.opentelemetry.api.trace.StatusCode.ERROR);
        throw asModelFailure(modelId, "vae decoder", e);
      } finally {
        decode.end();
      }
    }
  }

  /**
   * A component that fails on a well-formed job (wrong shape, a graph that throws) is the
   * model's fault: {@code INVALID_MODEL}, naming the model. Job failures pass through.
   */
  static RuntimeException asModelFailure(String modelId, String component, RuntimeException e) {
    if (e instanceof JobFailedException || e instanceof JobCancelledException) {
      return e;
    }
    return new JobFailedException(ErrorCode.INVALID_MODEL, "model '" + modelId + "': " + component
        + " failed: " + e.getMessage(), e);
  }

  static RuntimeException classify(Throwable e) {
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
