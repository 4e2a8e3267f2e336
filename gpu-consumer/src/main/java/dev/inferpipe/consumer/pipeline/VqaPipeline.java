package dev.inferpipe.consumer.pipeline;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.inferpipe.consumer.model.VqaModel;
import dev.inferpipe.core.job.ErrorCode;
import dev.inferpipe.core.job.VqaInput;
import dev.inferpipe.core.s3.S3Uri;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Visual question answering: {@code vqa.image.load} -> {@code vqa.image.resize} ->
 * {@code vqa.image.normalize} -> {@code vqa.model.encode_text} -> {@code vqa.model.encode} (the
 * encoder over image and question) -> {@code vqa.model.generate} (one {@code vqa.generate.step}
 * per token, greedy) -> {@code vqa.decode.answer}. The model ({@link VqaModel}) owns what differs
 * between models: preprocessing, tokenizer, graphs.
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

  /**
   * Loads images beside question encoding; daemon threads, idle ones end after a minute. One
   * load is in flight per job being prepared, and a job that fails cancels its load; past the
   * cap a load runs on the caller, as it did before this pool.
   */
  private static final ExecutorService IMAGE_LOADER = new ThreadPoolExecutor(0, 16,
      60, TimeUnit.SECONDS, new SynchronousQueue<>(), runnable -> {
        Thread thread = new Thread(runnable, "vqa-image-loader");
        thread.setDaemon(true);
        return thread;
      }, new ThreadPoolExecutor.CallerRunsPolicy());

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
  public VqaAnswer run(VqaModel model, VqaInput input, BooleanSupplier cancelled) {
    return run(model, input, null, cancelled);
  }

  /** @param tenant the job's tenant: which {@code {tenant}} image prefixes it may read */
  public VqaAnswer run(VqaModel model, VqaInput input, String tenant, BooleanSupplier cancelled) {
    String modelId = model.spec().modelId();
    try (NDManager m = model.workspace().newSubManager()) {
      Prepared prepared = prepare(model, input, tenant, m);
      NDArray context = traced("vqa.model.encode", span -> encode(model, List.of(prepared)));
      Generation generation = start(model, input);
      traced("vqa.model.generate", span -> {
        span.setAttribute("vqa.max_new_tokens", (long) generation.limit());
        StepTracer steps = new StepTracer(tracer, stepTelemetry, "vqa.generate.step",
            "vqa.step.index", stepTimer(modelId, 1), cancelled);
        while (!generation.done()) {
          if (generation.outOfTime()) {
            break;
          }
          try (var ignored = steps.begin(generation.tokens().size(), -1);
              NDManager sm = m.newSubManager()) {
            step(model, sm, context, List.of(generation));
            Span.current().setAttribute("vqa.token", model.tokenText(generation.lastToken()));
          }
        }
        span.setAttribute("vqa.tokens", (long) generation.tokens().size());
        span.setAttribute("vqa.budget_exceeded", generation.budgetExceeded());
        return generation;
      });
      return traced("vqa.decode.answer", span -> answer(model, generation, prepared, span));
    }
  }

  /** A job's model inputs, in the job's manager: its pixels and its encoded question. */
  public record Prepared(NDArray pixels, VqaModel.Question question) {}

  /**
   * Loads, resizes and normalizes the job's image and encodes its question, each in its span
   * under the current one. A bad image fails this job only. The image is loaded and resized on
   * another thread while the question is encoded: an S3 GET, or the 0.5 ms of decoding and
   * resizing an inline image, then hides behind the text encoder instead of adding to it.
   */
  public Prepared prepare(VqaModel model, VqaInput input, String tenant, NDManager m) {
    Future<BufferedImage> image = IMAGE_LOADER.submit(
        Context.current().wrap(() -> loadAndResize(model, input, tenant)));
    VqaModel.Question question;
    BufferedImage resized;
    try {
      question = traced("vqa.model.encode_text", span -> {
        VqaModel.Question q = model.question(m, input.question());
        span.setAttribute("question.unknown_words", (long) q.unknownWords());
        return q;
      });
      resized = image.get();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException cause) {
        throw cause;
      }
      throw new IllegalStateException(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new JobFailedException(ErrorCode.UNAVAILABLE, "stopped while loading the image", e);
    } finally {
      image.cancel(true); // a failed question, or an interrupt: the load stops too
    }
    NDArray pixels = traced("vqa.image.normalize", span -> model.normalize(m, resized));
    return new Prepared(pixels, question);
  }

  private BufferedImage loadAndResize(VqaModel model, VqaInput input, String tenant) {
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
    return traced("vqa.image.resize", span -> {
      BufferedImage out = model.resize(image);
      span.setAttribute("image.target_width", (long) out.getWidth());
      span.setAttribute("image.target_height", (long) out.getHeight());
      return out;
    });
  }

  /** One encoder call over a batch of prepared jobs: (B, S, D); a failure is the model's. */
  public NDArray encode(VqaModel model, List<Prepared> batch) {
    try {
      return model.encode(batch.stream().map(Prepared::pixels).toList(),
          batch.stream().map(Prepared::question).toList());
    } catch (RuntimeException e) {
      throw Txt2ImgPipeline.asModelFailure(model.spec().modelId(), "encoder", e);
    }
  }

  /** A job's greedy generation so far; the time budget starts when it is created. */
  public static final class Generation {
    private final List<Integer> prefix = new ArrayList<>();
    private final List<Integer> tokens = new ArrayList<>();
    private final int limit;
    private final long deadline;
    private final Supplier<Long> clock;
    private double confidence = 1.0;
    private boolean ended;
    private boolean budgetExceeded;
    private int last = -1;

    private Generation(int start, int limit, long deadline, Supplier<Long> clock) {
      prefix.add(start);
      this.limit = limit;
      this.deadline = deadline;
      this.clock = clock;
    }

    public List<Integer> tokens() {
      return tokens;
    }

    List<Integer> prefix() {
      return prefix;
    }

    public int limit() {
      return limit;
    }

    public double confidence() {
      return confidence;
    }

    public boolean budgetExceeded() {
      return budgetExceeded;
    }

    /** The token the last step chose (the end token included). */
    public int lastToken() {
      return last;
    }

    /** Ended by the end token or the token limit (or the budget, once {@link #outOfTime}). */
    public boolean done() {
      return ended || budgetExceeded || tokens.size() >= limit;
    }

    /** True, and the generation ends, when the budget ran out before the next step. */
    public boolean outOfTime() {
      if (!done() && clock.get() > deadline) {
        budgetExceeded = true;
      }
      return budgetExceeded;
    }

    void accept(int token, float probability, int endToken) {
      last = token;
      confidence *= probability;
      if (token == endToken) {
        ended = true;
      } else {
        tokens.add(token);
        prefix.add(token);
      }
    }
  }

  /** A generation for {@code input}, its time budget starting now. */
  public Generation start(VqaModel model, VqaInput input) {
    return new Generation(model.startToken(), Math.min(input.maxNewTokens(), model.maxNewTokens()),
        clock.get() + budget.toNanos(), clock);
  }

  /**
   * One decoder call advancing every row by one greedy token.
   *
   * @param contexts the rows' encoder states, (B, S, D), in row order
   */
  public void step(VqaModel model, NDManager m, NDArray contexts, List<Generation> rows) {
    String modelId = model.spec().modelId();
    float[][] p;
    try {
      p = model.nextTokens(m, contexts, rows.stream().map(Generation::prefix).toList());
    } catch (RuntimeException e) {
      throw Txt2ImgPipeline.asModelFailure(modelId, "decoder", e);
    }
    Counter tokensCounter = Counter.builder("inference.tokens").tag("model", modelId)
        .register(registry);
    for (int b = 0; b < rows.size(); b++) {
      int best = 0;
      for (int i = 1; i < p[b].length; i++) {
        if (p[b][i] > p[b][best]) {
          best = i;
        }
      }
      if (!(p[b][best] >= 0 && p[b][best] <= 1.0001f)) {
        throw new JobFailedException(ErrorCode.INVALID_MODEL, "model '" + modelId
            + "': the decoder's next-token probabilities are not finite");
      }
      rows.get(b).accept(best, p[b][best], model.endToken());
      tokensCounter.increment();
    }
  }

  /** The {@code vqa.decode.answer} step: the answer text, or TIMEOUT when not one token came. */
  public VqaAnswer answer(VqaModel model, Generation generation, Prepared prepared, Span span) {
    if (generation.tokens().isEmpty() && generation.budgetExceeded()) {
      throw new JobFailedException(ErrorCode.TIMEOUT,
          "no answer token within the " + budget.toMillis() + " ms budget");
    }
    String answer = model.answer(generation.tokens());
    List<String> tokens = generation.tokens().stream().map(model::tokenText).toList();
    span.setAttribute("vqa.answer.tokens", (long) tokens.size());
    span.setAttribute("vqa.confidence", generation.confidence());
    return new VqaAnswer(answer, generation.confidence(), tokens, generation.budgetExceeded(),
        prepared.question().unknownWords());
  }

  /** Time per generate step, by the number of rows the step's decoder call ran. */
  public Timer stepTimer(String modelId, int batchSize) {
    return Timer.builder("inference.sampling.step")
        .tags("task", "vqa", "model", modelId, "batch_size", Integer.toString(batchSize))
        .register(registry);
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

  /** A step of the pipeline run inside its span. */
  public interface SpanBody<T> {
    T run(Span span);
  }

  /** Runs {@code body} in a span named {@code name} under the current one; failures classified. */
  public <T> T traced(String name, SpanBody<T> body) {
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
