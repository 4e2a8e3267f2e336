package dev.inferpipe.consumer.exported;

import dev.inferpipe.core.model.ModelSpec;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The words a model was trained on, from its card ({@code understands.words}). A pretrained text
 * encoder has no unknown tokens for ordinary English, so "a scarlet ball" would count as fully
 * understood; this counts the words the model never saw instead. Without the list, the
 * tokenizer's unknown tokens are the count.
 */
final class KnownWords {
  /** The card's key for the training vocabulary. */
  static final String WORDS = "words";
  private static final Pattern WORD = Pattern.compile("[\\p{L}']+");

  private final Set<String> words;

  private KnownWords(Set<String> words) {
    this.words = words;
  }

  static KnownWords of(ModelSpec spec) {
    List<String> listed = spec.understands() == null ? null : spec.understands().get(WORDS);
    return new KnownWords(listed == null ? null : listed.stream()
        .map(w -> w.toLowerCase(Locale.ROOT)).collect(Collectors.toUnmodifiableSet()));
  }

  /**
   * @param unknownTokens the tokenizer's count of unknown tokens in {@code text}
   * @return how many words of {@code text} the model cannot act on (a count, never the words)
   */
  int unknown(String text, int unknownTokens) {
    if (words == null) {
      return unknownTokens;
    }
    int unknown = 0;
    Matcher matcher = WORD.matcher(text.toLowerCase(Locale.ROOT));
    while (matcher.find()) {
      unknown += words.contains(matcher.group()) ? 0 : 1;
    }
    return unknown;
  }
}
