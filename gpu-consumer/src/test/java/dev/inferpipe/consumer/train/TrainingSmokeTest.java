package dev.inferpipe.consumer.train;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import dev.inferpipe.consumer.diffusion.PromptEncoder;
import dev.inferpipe.consumer.diffusion.TinyUNet;
import dev.inferpipe.consumer.vqa.TinyVqa;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The train command runs end to end (a few steps only) and writes weights the models load. */
class TrainingSmokeTest {
  @TempDir Path dir;

  @Test
  void diffusionTrainsSavesAndContinuesFromSavedWeights() throws Exception {
    Path first = dir.resolve("d1.params");
    Path second = dir.resolve("d2.params");
    try (NDManager root = NDManager.newBaseManager()) {
      DiffusionTraining.run(TrainOptions.parse(Map.of("steps", "2", "batch", "4"), 1, 1, 1e-3f,
          first.toString()), root);
    }
    try (NDManager root = NDManager.newBaseManager()) {
      DiffusionTraining.run(TrainOptions.parse(Map.of("steps", "2", "batch", "4",
          "init", first.toString()), 1, 1, 1e-3f, second.toString()), root);
    }
    try (NDManager m = NDManager.newBaseManager(); InputStream in = Files.newInputStream(second)) {
      TinyUNet unet = new TinyUNet(m, new PromptEncoder().size(), 0);
      unet.params().load(in);
      assertThat(unet.params().count()).isEqualTo(1_103_523);
    }
    assertThat(Files.readAllBytes(second)).isNotEqualTo(Files.readAllBytes(first));
  }

  @Test
  void vqaAndTheJudgeTrainAndSave() throws Exception {
    Path vqa = dir.resolve("vqa.params");
    Path judge = dir.resolve("judge.params");
    try (NDManager root = NDManager.newBaseManager()) {
      VqaTraining.run(TrainOptions.parse(Map.of("steps", "2", "batch", "8"), 1, 1, 1e-3f,
          vqa.toString()), root);
      ClassifierTraining.run(TrainOptions.parse(Map.of("steps", "2", "batch", "8"), 1, 1, 1e-3f,
          judge.toString()), root);
    }
    try (NDManager m = NDManager.newBaseManager(); InputStream in = Files.newInputStream(vqa)) {
      new TinyVqa(m, 0).params().load(in);
    }
    assertThat(judge).isNotEmptyFile();
  }
}
