package dev.inferpipe.consumer.model;

/** A model could not be found, fetched, verified or read. */
public final class ModelLoadException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public ModelLoadException(String modelId, String message) {
    super("model '" + modelId + "': " + message);
  }

  public ModelLoadException(String modelId, String message, Throwable cause) {
    super("model '" + modelId + "': " + message, cause);
  }
}
