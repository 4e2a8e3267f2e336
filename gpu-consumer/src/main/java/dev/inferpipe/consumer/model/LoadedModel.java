package dev.inferpipe.consumer.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.inferpipe.consumer.diffusion.NoiseSchedule;
import dev.inferpipe.consumer.diffusion.PromptEncoder;
import dev.inferpipe.consumer.diffusion.TinyUNet;
import dev.inferpipe.consumer.shapes.ImageResize;
import dev.inferpipe.consumer.shapes.ImageTensors;
import dev.inferpipe.consumer.vqa.TinyVqa;
import dev.inferpipe.consumer.vqa.VqaVocabulary;
import dev.inferpipe.core.model.ModelSpec;
import java.awt.image.BufferedImage;
import java.util.List;

/**
 * A model in memory, ready to run; closing it frees its native memory. A task's pipeline sees
 * it through {@link DiffusionModel} or {@link VqaModel}; the records here are the two bundled
 * models (Java networks reading {@code .params} weights), exported models are
 * {@code dev.inferpipe.consumer.exported}.
 */
public interface LoadedModel extends AutoCloseable {
  ModelSpec spec();

  @Override
  void close();

  /** The bundled text-to-image model: a multi-hot bag of words conditions a pixel-space UNet. */
  record Diffusion(ModelSpec spec, NDManager manager, TinyUNet unet) implements DiffusionModel {
    private static final NoiseSchedule SCHEDULE = NoiseSchedule.standard();
    private static final PromptEncoder PROMPTS = new PromptEncoder();

    @Override
    public NDManager workspace() {
      return manager;
    }

    @Override
    public NoiseSchedule schedule() {
      return SCHEDULE;
    }

    @Override
    public SampleShape sampleShape() {
      return new SampleShape(3, spec.height(), spec.width());
    }

    @Override
    public Prompts encodePrompts(NDManager m, List<String> prompts) {
      float[] multiHot = new float[prompts.size() * PROMPTS.size()];
      int[] unknown = new int[prompts.size()];
      for (int b = 0; b < prompts.size(); b++) {
        PromptEncoder.Encoded encoded = PROMPTS.encode(prompts.get(b));
        System.arraycopy(encoded.multiHot(), 0, multiHot, b * PROMPTS.size(), PROMPTS.size());
        unknown[b] = encoded.unknownWords().size();
      }
      return new Prompts(m.create(multiHot, new Shape(prompts.size(), PROMPTS.size())), unknown);
    }

    @Override
    public NDArray predictNoise(NDArray x, int timestep, NDArray conditioning) {
      float[] time = new float[(int) x.getShape().get(0)];
      java.util.Arrays.fill(time, (float) timestep / SCHEDULE.steps());
      return unet.predictNoise(x, x.getManager().create(time), conditioning);
    }

    @Override
    public NDArray decode(NDArray samples) {
      return samples;
    }

    @Override
    public void close() {
      manager.close();
    }
  }

  /** The bundled VQA model: a CNN image encoder, a bag-of-words question, a 3-token decoder. */
  record Vqa(ModelSpec spec, NDManager manager, TinyVqa model) implements VqaModel {
    @Override
    public NDManager workspace() {
      return manager;
    }

    @Override
    public BufferedImage resize(BufferedImage image) {
      return ImageResize.square(image, TinyVqa.IMAGE_SIZE);
    }

    @Override
    public NDArray normalize(NDManager m, BufferedImage resized) {
      return ImageTensors.toTensor(m, List.of(resized));
    }

    @Override
    public Question question(NDManager m, String question) {
      VqaVocabulary.EncodedQuestion encoded = VqaVocabulary.encodeQuestion(question);
      return new Question(List.of(m.create(encoded.multiHot(),
          new Shape(1, VqaVocabulary.questionSize()))), encoded.unknownWords().size());
    }

    @Override
    public NDArray encode(NDArray pixels, Question question) {
      return model.fuse(model.encodeImage(pixels), model.encodeText(question.inputs().get(0)));
    }

    @Override
    public int startToken() {
      return VqaVocabulary.answerId(VqaVocabulary.BOS);
    }

    @Override
    public int endToken() {
      return VqaVocabulary.answerId(VqaVocabulary.EOS);
    }

    @Override
    public int maxNewTokens() {
      return VqaVocabulary.MAX_ANSWER_TOKENS;
    }

    @Override
    public float[] nextToken(NDManager m, NDArray context, List<Integer> prefix) {
      int answers = VqaVocabulary.answerSize();
      int positions = VqaVocabulary.MAX_ANSWER_TOKENS;
      float[] previous = new float[answers];
      previous[prefix.get(prefix.size() - 1)] = 1f;
      float[] position = new float[positions];
      position[prefix.size() - 1] = 1f;
      return model.decodeStep(context, m.create(previous, new Shape(1, answers)),
          m.create(position, new Shape(1, positions))).softmax(1).toFloatArray();
    }

    @Override
    public String tokenText(int token) {
      return VqaVocabulary.answerToken(token);
    }

    @Override
    public String answer(List<Integer> tokens) {
      return String.join(" ", tokens.stream().map(VqaVocabulary::answerToken).toList());
    }

    @Override
    public void close() {
      manager.close();
    }
  }
}
