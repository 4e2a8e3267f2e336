package dev.inferpipe.consumer.shapes;

/** The shapes the small models know. */
public enum ShapeKind {
  CIRCLE,
  SQUARE,
  TRIANGLE;

  public String word() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
