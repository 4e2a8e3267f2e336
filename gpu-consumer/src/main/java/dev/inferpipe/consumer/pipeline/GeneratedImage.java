package dev.inferpipe.consumer.pipeline;

import java.util.List;

/** One generated PNG and the prompt words the model did not know. */
public record GeneratedImage(byte[] png, List<String> unknownWords) {}
