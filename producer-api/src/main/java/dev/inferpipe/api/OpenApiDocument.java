package dev.inferpipe.api;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/** The API's OpenAPI document, shipped in the jar and served at {@code /openapi.yaml}. */
final class OpenApiDocument {
  static final String RESOURCE = "openapi.yaml";

  private OpenApiDocument() {}

  static byte[] bytes() {
    try (InputStream in = OpenApiDocument.class.getClassLoader().getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException(RESOURCE + " missing from the classpath");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
