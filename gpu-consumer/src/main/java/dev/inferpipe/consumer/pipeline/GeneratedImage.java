package dev.inferpipe.consumer.pipeline;

/** One generated PNG and how many prompt words the model could not act on. */
public record GeneratedImage(byte[] png, int unknownWords) {}
