package dev.inferpipe.consumer.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.inferpipe.consumer.TestModels;
import dev.inferpipe.consumer.TestScenes;
import dev.inferpipe.consumer.exported.Fixtures;
import dev.inferpipe.consumer.model.VqaModel;
import dev.inferpipe.core.job.ErrorCode;
import dev.inferpipe.core.job.VqaInput;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import tools.jackson.databind.JsonNode;

class VqaPipelineTest {
  private final InMemorySpanExporter spans = InMemorySpanExporter.create();
  private final SdkTracerProvider provider =
      SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(spans)).build();

  @AfterEach
  void close() {
    provider.close();
  }

  private VqaPipeline pipeline() {
    return new VqaPipeline(provider.get("test"), StepTelemetry.SPANS, new SimpleMeterRegistry(),
        (uri, tenant) -> { throw new IllegalStateException("no S3 here"); }, Duration.ofSeconds(5),
        System::nanoTime);
  }

  /**
   * A scene drawn here with Java2D at 128 px: one red circle, top left. These questions check the
   * pipeline end to end (a wrong channel order, resize or mask would break them); the model's
   * quality is `./pipeline evaluate`'s job.
   */
  private static String scene() {
    return TestScenes.png(128, TestScenes.GREY,
        new TestScenes.Shape(TestScenes.Kind.CIRCLE, TestScenes.RED, 36, 38, 48));
  }

  static Stream<Arguments> questions() {
    return Stream.of(
        Arguments.of("what colour is the circle?", "red"),
        Arguments.of("What color is the circle?", "red"),
        Arguments.of("how many objects are there?", "one"),
        Arguments.of("what shape is the red object?", "circle"),
        Arguments.of("is there a red circle in the image?", "yes"),
        Arguments.of("is there a blue square in the image?", "no"),
        Arguments.of("is the red circle on the left or the right?", "left"),
        Arguments.of("is the red circle at the top or the bottom?", "top"),
        // phrasings never seen in training, read by the pretrained question encoder
        Arguments.of("which color does the circle have?", "red"),
        Arguments.of("how many things are in this picture?", "one"));
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @MethodSource("questions")
  void answersQuestionsAboutADrawnScene(String question, String expected) {
    VqaAnswer answer = pipeline().run(TestModels.vqa(), new VqaInput(scene(), question, 4), () -> false);
    assertThat(answer.answer()).isEqualTo(expected);
    assertThat(answer.confidence()).isBetween(0.5, 1.0);
    assertThat(answer.budgetExceeded()).isFalse();
  }

  @Test
  void anS3ImageThatCannotBeFetchedBecauseS3IsDownIsUnavailableNotInvalid() throws Exception {
    int closedPort;
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
      closedPort = socket.getLocalPort();
    }
    // A real client against a port nothing listens on: connection refused, retried by the SDK.
    try (S3Client s3 = S3Client.builder()
        .endpointOverride(java.net.URI.create("http://127.0.0.1:" + closedPort))
        .forcePathStyle(true).region(Region.US_EAST_1)
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("a", "b")))
        .build()) {
      VqaPipeline pipeline = new VqaPipeline(provider.get("test"), StepTelemetry.SPANS,
          new SimpleMeterRegistry(),
          new S3ImageReader(s3, java.util.List.of("s3://images/"))::read,
          Duration.ofSeconds(5), System::nanoTime);
      VqaInput input = new VqaInput("s3://images/scene.png", "what colour is the circle?", 3);
      assertThatThrownBy(() -> pipeline.run(TestModels.vqa(), input, () -> false))
          .isInstanceOfSatisfying(JobFailedException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE);
            assertThat(e.getMessage()).contains("s3://images/scene.png", "attempts");
          });
    }
    assertThat(spans.getFinishedSpanItems()).anySatisfy(span -> assertThat(span.getAttributes()
        .get(io.opentelemetry.api.common.AttributeKey.longKey("s3.attempts"))).isGreaterThan(1));
  }

  @Test
  void tracesEveryStageAndOneSpanPerDecoderCall() {
    io.opentelemetry.api.trace.Span job = provider.get("test").spanBuilder("job").startSpan();
    try (var ignored = job.makeCurrent()) {
      pipeline().run(TestModels.vqa(), new VqaInput(scene(),
          "is the red circle at the top or the bottom?", 4), () -> false);
    } finally {
      job.end();
    }
    List<SpanData> finished = spans.getFinishedSpanItems();
    assertThat(finished).extracting(SpanData::getName).contains("vqa.image.load", "vqa.image.resize",
        "vqa.image.normalize", "vqa.model.encode_text", "vqa.model.encode",
        "vqa.model.generate", "vqa.decode.answer");
    SpanData generate = finished.stream().filter(s -> s.getName().equals("vqa.model.generate"))
        .findFirst().orElseThrow();
    // Every bundled answer is one token, so its generation_config stops after one decoder call
    // ("top"); a request's own max_new_tokens (4 here) cannot raise the model's limit.
    assertThat(generate.getAttributes().asMap().toString()).contains("vqa.max_new_tokens=1");
    List<SpanData> steps = finished.stream().filter(s -> s.getName().startsWith("vqa.generate.step"))
        .toList();
    assertThat(steps).hasSize(1).allSatisfy(s ->
        assertThat(s.getParentSpanId()).isEqualTo(generate.getSpanId()));
    assertThat(steps.get(0).getAttributes().asMap().toString()).contains("vqa.token=top");
    // The image is loaded beside the question's encoding, and its spans stay in the job's trace.
    SpanData load = finished.stream().filter(s -> s.getName().equals("vqa.image.load"))
        .findFirst().orElseThrow();
    assertThat(load.getTraceId()).isEqualTo(job.getSpanContext().getTraceId());
    assertThat(load.getParentSpanId()).isEqualTo(job.getSpanContext().getSpanId());
  }

  /** The fixture's random weights emit several tokens before [SEP]: one span per decoder call. */
  @Test
  void aLongerAnswerTakesOneStepPerTokenAndOneForTheEnd() {
    VqaAnswer answer = pipeline().run(fixture(), fixtureInput("is there a blue square?", 6),
        () -> false);
    assertThat(answer.tokens()).containsExactly("big", "green");
    assertThat(spans.getFinishedSpanItems()).filteredOn(s -> s.getName()
        .startsWith("vqa.generate.step")).hasSize(3);
  }

  @Test
  void overTheBudgetAnswersWithThePartialAnswer() {
    AtomicLong fakeClock = new AtomicLong();
    VqaPipeline slow = new VqaPipeline(provider.get("test"), StepTelemetry.OFF,
        new SimpleMeterRegistry(), (uri, tenant) -> null, Duration.ofMillis(100),
        () -> fakeClock.getAndAdd(Duration.ofMillis(60).toNanos()));
    // One token fits in the budget; the clock is past it before the decoder can emit the next.
    VqaAnswer answer = slow.run(fixture(), fixtureInput("is there a blue square?", 6), () -> false);
    assertThat(answer.budgetExceeded()).isTrue();
    assertThat(answer.tokens()).containsExactly("big");
  }

  private static VqaModel fixture;

  private static synchronized VqaModel fixture() {
    if (fixture == null) {
      fixture = (VqaModel) Fixtures.load("fx-vqa-onnx");
    }
    return fixture;
  }

  private static VqaInput fixtureInput(String question, int maxNewTokens) {
    JsonNode vqaCase = java.util.stream.StreamSupport.stream(
        Fixtures.reference("fx-vqa").path("cases").spliterator(), false)
        .filter(c -> c.path("question").asString().equals(question)).findFirst().orElseThrow();
    return new VqaInput(Base64.getEncoder().encodeToString(
        Fixtures.referenceImage(vqaCase.path("image").asString())), question, maxNewTokens);
  }

  static Stream<Arguments> badImages() throws Exception {
    byte[] png = Base64.getDecoder().decode(scene());
    return Stream.of(
        Arguments.of("text bytes", "hello, not an image".getBytes()),
        Arguments.of("truncated png", Arrays.copyOf(png, 40)),
        Arguments.of("png header only", Arrays.copyOf(png, 8)),
        Arguments.of("decompression bomb", bomb()),
        Arguments.of("gif", gif()));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badImages")
  void badImagesFailWithInvalidImage(String name, byte[] bytes) {
    String base64 = Base64.getEncoder().encodeToString(bytes);
    assertThatThrownBy(() -> pipeline().run(TestModels.vqa(),
        new VqaInput(base64, "what colour is the circle?", 4), () -> false))
        .isInstanceOfSatisfying(JobFailedException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_IMAGE));
    SpanData load = spans.getFinishedSpanItems().stream()
        .filter(s -> s.getName().equals("vqa.image.load")).findFirst().orElseThrow();
    assertThat(load.getStatus().getStatusCode())
        .isEqualTo(io.opentelemetry.api.trace.StatusCode.ERROR);
    assertThat(load.getEvents()).extracting(e -> e.getName()).contains("exception");
  }

  /** A valid PNG header declaring 50000 x 50000 pixels, in a few hundred bytes. */
  private static byte[] bomb() throws Exception {
    BufferedImage small = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(small, "png", out);
    byte[] png = out.toByteArray();
    // IHDR width/height live at bytes 16..23; the CRC no longer matches, but readers check size first.
    int[] dims = {50_000, 50_000};
    for (int d = 0; d < 2; d++) {
      for (int i = 0; i < 4; i++) {
        png[16 + d * 4 + i] = (byte) (dims[d] >>> (24 - 8 * i));
      }
    }
    return png;
  }

  private static byte[] gif() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(new BufferedImage(4, 4, BufferedImage.TYPE_INT_RGB), "gif", out);
    return out.toByteArray();
  }
}
