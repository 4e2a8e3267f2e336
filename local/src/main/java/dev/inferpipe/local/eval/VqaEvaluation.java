package dev.inferpipe.local.eval;

import dev.inferpipe.consumer.model.VqaModel;
import dev.inferpipe.consumer.pipeline.VqaAnswer;
import dev.inferpipe.consumer.pipeline.VqaPipeline;
import dev.inferpipe.core.job.VqaInput;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Base64;
import java.util.Iterator;
import java.util.Optional;
import java.util.SplittableRandom;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/**
 * Exact match of the VQA model's answers on Java2D scenes (the other renderer), sent through the
 * real pipeline as PNG or JPEG, with template questions or held-out paraphrases.
 */
public final class VqaEvaluation {
  private final VqaPipeline pipeline;
  private final VqaModel model;

  public VqaEvaluation(VqaPipeline pipeline, VqaModel model) {
    this.pipeline = pipeline;
    this.model = model;
  }

  public Txt2ImgEvaluation.Score exactMatch(String measure, EvalQuestions questions, int samples,
      long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    int right = 0;
    // Split by what varies, so a miss can be traced to the question, the format or the resize.
    Slices slices = new Slices();
    for (int done = 0; done < samples; ) {
      Shapes.Scene scene = Java2dRenderer.vqa(random);
      Optional<EvalQuestions.Qa> qa = questions.ask(scene, scene.image().getWidth(), random);
      if (qa.isEmpty()) {
        continue;
      }
      boolean jpeg = random.nextBoolean();
      String image = encode(scene, jpeg);
      VqaAnswer answer = pipeline.run(model, new VqaInput(image, qa.get().question(), 4), () -> false);
      boolean correct = answer.answer().trim().equals(qa.get().answer());
      right += correct ? 1 : 0;
      int side = scene.image().getWidth();
      slices.add(correct, "family=" + qa.get().family(), "format=" + (jpeg ? "jpeg" : "png"),
          "canvas=" + (side < 120 ? "80-119" : side < 160 ? "120-159" : "160-200") + "px",
          "objects=" + scene.things().size(), "background=" + scene.background());
      done++;
    }
    return new Txt2ImgEvaluation.Score(measure, samples, right, slices.list());
  }

  /** PNG, or JPEG at quality 0.85. */
  static String encode(Shapes.Scene scene, boolean jpeg) {
    try (ByteArrayOutputStream bytes = new ByteArrayOutputStream()) {
      if (!jpeg) {
        ImageIO.write(scene.image(), "png", bytes);
      } else {
        Iterator<ImageWriter> writers = ImageIO.getImageWritersByFormatName("jpeg");
        ImageWriter writer = writers.next();
        ImageWriteParam param = writer.getDefaultWriteParam();
        param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
        param.setCompressionQuality(0.85f);
        try (MemoryCacheImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {
          writer.setOutput(out);
          writer.write(null, new IIOImage(scene.image(), null, null), param);
        } finally {
          writer.dispose();
        }
      }
      return Base64.getEncoder().encodeToString(bytes.toByteArray());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
