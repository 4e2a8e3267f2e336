package dev.inferpipe.consumer.pipeline;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.inferpipe.consumer.model.LoadedModel;
import dev.inferpipe.consumer.shapes.ImageResize;
import dev.inferpipe.consumer.shapes.ImageTensors;
import dev.inferpipe.consumer.vqa.TinyVqa;
import dev.inferpipe.consumer.vqa.VqaVocabulary;
import dev.inferpipe.core.job.ErrorCode;
import dev.inferpipe.core.job.VqaInput;
import dev.inferpipe.core.s3.S3Uri;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Scope;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Visual question answering: {@code vqa.image.load} -> {@code vqa.image.resize} ->
 * {@code vqa.image.normalize} -> {@code vqa.model.encode_image} -> {@code vqa.model.encode_text}
 * -> {@code vqa.model.generate} (one {@code vqa.generate.step} per token, greedy) ->
 * {@code vqa.decode.answer}.
 *
 * <p>Generation runs under a time budget. When the budget runs out between tokens, the pipeline
 * stops and answers with the tokens so far, marked {@code budget_exceeded} (the documented
 * fallback); if not even one token was produced, the job fails with {@code TIMEOUT}.
 */
public final class VqaPipeline {
  static {
    // Encode and decode images in memory. ImageIO's default file cache writes a temp file per
    // image (a read-only /tmp breaks it) and registers the stream with a JVM shutdown hook that
    // closes it: a graceful stop (SIGTERM) would fail the job being encoded at that moment.
    ImageIO.setUseCache(false);
  }

  /** Images larger than this in either dimension are refused before decoding (bombs). */
  public static final int MAX_IMAGE_DIMENSION = 4096;

  private final Tracer tracer;
  private final StepTelemetry stepTelemetry;
  private final MeterRegistry registry;
  private final S3ImageReader.Source s3Reader;
  private final Duration budget;
  private final Supplier<Long> clock;

  public VqaPipeline(Tracer tracer, StepTelemetry stepTelemetry, MeterRegistry registry,
      S3ImageReader.Source s3Reader, Duration budget, Supplier<Long> nanoClock) {
    this.tracer = tracer;
    this.stepTelemetry = stepTelemetry;
    this.registry = registry;
    this.s3Reader = s3Reader;
    this.budget = budget;
    this.clock = nanoClock;
  }

  /** Runs a job without a tenant (API keys off): {@code {tenant}} image prefixes match nothing. */
  public VqaAnswer run(LoadedModel.Vqa loaded, VqaInput input, BooleanSupplier cancelled) {
    return run(loaded, input, null, cancelled);
  }

  /** @param tenant the job's tenant: which {@code {tenant}} image prefixes it may read */
  public VqaAnswer run(LoadedModel.Vqa loaded, VqaInput input, String tenant,
      BooleanSupplier cancelled) {
    BufferedImage image = traced("vqa.image.load", span -> {
      span.setAttribute("image.source", input.imageIsS3Uri() ? "s3" : "base64");
      byte[] bytes = imageBytes(input, tenant);
      span.setAttribute("image.bytes", (long) bytes.length);
      BufferedImage decoded;
      try {
        decoded = decode(bytes);
      } catch (JobFailedException e) {
        if (!input.imageIsS3Uri()) {
          throw e;
        }
        throw S3ImageReader.notAvailable(S3Uri.parse(input.image()).orElseThrow());
      }
      span.setAttribute("image.width", (long) decoded.getWidth());
      span.setAttribute("image.height", (long) decoded.getHeight());
      return decoded;
    });
    BufferedImage resized = traced("vqa.image.resize", span -> {
      span.setAttribute("image.target_size", (long) TinyVqa.IMAGE_SIZE);
      return ImageResize.square(image, TinyVqa.IMAGE_SIZE);
    });
    TinyVqa model = loaded.model();
    try (NDManager m = loaded.manager().newSubManager()) {
      NDArray pixels = traced("vqa.image.normalize", span -> ImageTensors.toTensor(m, List.of(resized)));
      NDArray imageFeatures = traced("vqa.model.encode_image", span -> model.encodeImage(pixels));
      VqaVocabulary.EncodedQuestion question = VqaVocabulary.encodeQuestion(input.question());
      NDArray context = traced("vqa.model.encode_text", span -> {
        span.setAttribute("question.unknown_words", (long) question.unknownWords().size());
        NDArray text = model.encodeText(
            m.create(question.multiHot(), new Shape(1, VqaVocabulary.questionSize())));
        return model.fuse(imageFeatures, text);
      });
      long deadline = clock.get() + budget.toNanos();
      Generation generation = traced("vqa.model.generate", span -> {
        span.setAttribute("vqa.max_new_tokens", (long) input.maxNewTokens());
        Generation g = generate(m, model, loaded.spec().modelId(), context, input.maxNewTokens(),
            deadline, cancelled);
        span.setAttribute("vqa.tokens", (long) g.tokens().size());
        span.setAttribute("vqa.budget_exceeded", g.budgetExceeded());
        return g;
      });
      return traced("vqa.decode.answer", span -> {
        if (generation.tokens().isEmpty()) {
          throw new JobFailedException(ErrorCode.TIMEOUT,
              "no answer token within the " + budget.toMillis() + " ms budget");
        }
        String answer = String.join(" ", generation.tokens());
        span.setAttribute("vqa.answer.tokens", (long) generation.tokens().size());
        span.setAttribute("vqa.confidence", generation.confidence());
        return new VqaAnswer(answer, generation.confidence(), generation.tokens(),
            generation.budgetExceeded(), question.unknownWords());
      });
    }
  }

  private record Generation(List<String> tokens, double confidence, boolean budgetExceeded) {}

  private Generation generate(NDManager m, TinyVqa model, String modelId, NDArray context,
      int maxTokens, long deadline, BooleanSupplier cancelled) {
    Timer stepTimer = Timer.builder("inference.sampling.step")
        .description("time per sampling / generate step")
        .tags("task", "vqa", "model", modelId).publishPercentileHistogram()
        .register(registry);
    Counter tokensCounter = Counter.builder("inference.tokens").tag("model", modelId)
        .register(registry);
    StepTracer steps = new StepTracer(tracer, stepTelemetry, "vqa.generate.step",
        "vqa.step.index", stepTimer, cancelled);
    int answers = VqaVocabulary.answerSize();
    int positions = VqaVocabulary.MAX_ANSWER_TOKENS;
    int previous = VqaVocabulary.answerId(VqaVocabulary.BOS);
    List<String> tokens = new ArrayList<>();
    double confidence = 1.0;
    int limit = Math.min(maxTokens, positions);
    for (int step = 0; step < limit; step++) {
      if (clock.get() > deadline) {
        return new Generation(tokens, confidence, true);
      }
      try (var ignored = steps.begin(step, -1); NDManager sm = m.newSubManager()) {
        float[] prev = new float[answers];
        prev[previous] = 1f;
        float[] pos = new float[positions];
        pos[step] = 1f;
        NDArray probabilities = model.decodeStep(context,
                sm.create(prev, new Shape(1, answers)), sm.create(pos, new Shape(1, positions)))
            .softmax(1);
        float[] p = probabilities.toFloatArray();
        int best = 0;
        for (int i = 1; i < p.length; i++) {
          if (p[i] > p[best]) {
            best = i;
          }
        }
        Span.current().setAttribute("vqa.token", VqaVocabulary.answerToken(best));
        confidence *= p[best];
        tokensCounter.increment();
        if (VqaVocabulary.answerToken(best).equals(VqaVocabulary.EOS)) {
          break;
        }
        tokens.add(VqaVocabulary.answerToken(best));
        previous = best;
      }
    }
    return new Generation(tokens, confidence, false);
  }

  private byte[] imageBytes(VqaInput input, String tenant) {
    if (input.imageIsS3Uri()) {
      S3Uri uri = S3Uri.parse(input.image()).orElseThrow(() ->
          new JobFailedException(ErrorCode.INVALID_IMAGE, "not an s3://bucket/key URI"));
      return s3Reader.read(uri, tenant);
    }
    try {
      return Base64.getDecoder().decode(input.image());
    } catch (IllegalArgumentException e) {
      throw new JobFailedException(ErrorCode.INVALID_IMAGE, "image is not valid base64", e);
    }
  }

  /** Decodes PNG/JPEG after checking the declared size, so a tiny file cannot claim 100k x 100k. */
  static BufferedImage decode(byte[] bytes) {
    try (ImageInputStream stream = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
      Iterator<ImageReader> readers = ImageIO.getImageReaders(stream);
      if (!readers.hasNext()) {
        throw new JobFailedException(ErrorCode.INVALID_IMAGE, "not a PNG or JPEG image");
      }
      ImageReader reader = readers.next();
      try {
        reader.setInput(stream, true, true);
        String format = reader.getFormatName().toLowerCase(java.util.Locale.ROOT);
        if (!format.equals("png") && !format.equals("jpeg")) {
          throw new JobFailedException(ErrorCode.INVALID_IMAGE, "unsupported image format " + format);
        }
        int width = reader.getWidth(0);
        int height = reader.getHeight(0);
        if (width > MAX_IMAGE_DIMENSION || height > MAX_IMAGE_DIMENSION) {
          throw new JobFailedException(ErrorCode.INVALID_IMAGE, "image is " + width + "x" + height
              + "; the limit is " + MAX_IMAGE_DIMENSION + " per side");
        }
        BufferedImage image = reader.read(0);
        if (image == null) {
          throw new JobFailedException(ErrorCode.INVALID_IMAGE, "image could not be decoded");
        }
        return image;
      } finally {
        reader.dispose();
      }
    } catch (IOException | RuntimeException e) {
      if (e instanceof JobFailedException failed) {
        throw failed;
      }
      throw new JobFailedException(ErrorCode.INVALID_IMAGE, "image could not be decoded: " + e.getMessage(), e);
    }
  }

  private interface SpanBody<T> {
    T run(Span span);
  }

  private <T> T traced(String name, SpanBody<T> body) {
    Span span = tracer.spanBuilder(name).startSpan();
    try (Scope ignored = span.makeCurrent()) {
      return body.run(span);
    } catch (RuntimeException | OutOfMemoryError e) {
      span.recordException(e);
      span.setStatus(StatusCode.ERROR, e.getMessage());
      throw Txt2ImgPipeline.classify(e);
    } finally {
      span.end();
    }
  }
}
