package dev.inferpipe.consumer.pipeline;

import java.util.List;

/**
 * A VQA result.
 *
 * @param confidence product of the chosen tokens' probabilities
 * @param budgetExceeded true when generation stopped at the time budget (the answer is partial)
 * @param unknownWords how many question words are outside the model's training vocabulary (a count)
 */
public record VqaAnswer(String answer, double confidence, List<String> tokens,
    boolean budgetExceeded, int unknownWords) {}
