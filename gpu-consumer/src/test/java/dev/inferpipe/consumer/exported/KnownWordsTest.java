package dev.inferpipe.consumer.exported;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.inferpipe.consumer.model.ModelLoadException;
import dev.inferpipe.core.job.Task;
import dev.inferpipe.core.model.ModelSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A card's understands.words decides what counts as an unknown word, not the tokenizer. */
class KnownWordsTest {
  private static ModelSpec withWords(List<String> words) {
    ModelSpec limits = ModelSpec.limits("m", Task.TXT2IMG, 32, 32, 200, 25, List.of("ddim"), null);
    return new ModelSpec(limits.modelId(), limits.task(), limits.width(), limits.height(),
        limits.maxSteps(), limits.defaultSteps(), limits.samplers(), limits.maxNewTokens(),
        limits.format(), null, null, null, words == null ? null : Map.of("words", words));
  }

  @Test
  void wordsOutsideTheTrainingVocabularyAreCountedCaseAndPunctuationAside() {
    KnownWords known = KnownWords.of(withWords(List.of("a", "Red", "circle", "what's")));
    assertThat(known.unknown("A RED circle.", 0)).isZero();
    assertThat(known.unknown("a scarlet ball", 0)).isEqualTo(2);
    assertThat(known.unknown("what's a crimson circle, really?", 0)).isEqualTo(2);
    // The tokenizer's count is not added on top: the word list is the finer measure.
    assertThat(known.unknown("a red circle", 5)).isZero();
  }

  @Test
  void withoutAWordListTheTokenizersUnknownTokensCount() {
    assertThat(KnownWords.of(withWords(null)).unknown("a scarlet ball", 1)).isEqualTo(1);
  }

  @Test
  void theCardCopiesUnderstandsJsonAndRefusesAMalformedOne(@TempDir Path root) throws IOException {
    Path dir = root.resolve("fx-colour-ts");
    copy(Fixtures.ROOT.resolve("fx-colour-ts"), dir);
    Files.writeString(dir.resolve("understands.json"),
        "{\"colours\": [\"red\", \"blue\"], \"words\": [\"a\", \"red\", \"blue\"]}");
    ModelSpec card = new ModelCardWriter().card(dir);
    assertThat(card.understands()).containsEntry("colours", List.of("red", "blue"))
        .containsEntry("words", List.of("a", "red", "blue"));
    assertThat(card.files()).containsKey("understands.json");

    Files.writeString(dir.resolve("understands.json"), "{\"words\": \"a red\"}");
    assertThatThrownBy(() -> new ModelCardWriter().card(dir))
        .isInstanceOf(ModelLoadException.class).hasMessageContaining("words must be a list");
  }

  private static void copy(Path from, Path to) throws IOException {
    try (var paths = Files.walk(from)) {
      for (Path p : (Iterable<Path>) paths::iterator) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else if (!p.getFileName().toString().equals("model.json")) {
          Files.copy(p, target);
        }
      }
    }
  }
}
