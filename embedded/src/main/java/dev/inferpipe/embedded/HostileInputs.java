package dev.inferpipe.embedded;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The hostile-input corpus ({@code testdata/hostile-inputs.json}): job bodies every entry point
 * must refuse clearly, with the error each must produce at the API and on the topic. Bodies are
 * kept small in the file; placeholders expand to the large or binary parts:
 * {@code ${REPEAT:n:text}}, {@code ${BYTES:hex}} (the whole body), {@code ${B64:text}},
 * {@code ${PNG}}, {@code ${GIF}}, {@code ${PNG_TRUNCATED}}, {@code ${JPEG_TRUNCATED}},
 * {@code ${PNG_HEADER}}, {@code ${BOMB_PNG}} (a 1-pixel file declaring 50000 x 50000) and
 * {@code ${ZEROS_PNG_B64:n}} (n bytes behind a PNG signature, as base64).
 */
public final class HostileInputs {
  private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([A-Z0-9_]+)(?::([^}]*))?\\}");

  /**
   * One corpus entry.
   *
   * @param api the expected HTTP answer: {@code status}, and for 4xx {@code code} and {@code field}
   * @param topic what a record with this value leads to: {@code dlq_code}, or {@code status} with
   *     {@code code}, or {@code output}, or {@code skip} with the reason it cannot be published
   */
  public record Entry(String name, byte[] body, String traceparent, JsonNode api, JsonNode topic) {
    @Override
    public String toString() {
      return name;
    }
  }

  private HostileInputs() {}

  /** Reads the corpus from the repository's {@code testdata} folder (found from a module dir). */
  public static List<Entry> load() {
    Path file = Path.of("..", "testdata", "hostile-inputs.json");
    try {
      JsonNode corpus = JsonMapper.builder().build().readTree(Files.readAllBytes(file));
      List<Entry> entries = new ArrayList<>();
      for (JsonNode entry : corpus) {
        entries.add(new Entry(entry.get("name").asString(), expand(entry.get("body").asString()),
            entry.has("traceparent") ? entry.get("traceparent").asString() : null,
            entry.get("api"), entry.get("topic")));
      }
      return entries;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file.toAbsolutePath(), e);
    }
  }

  static byte[] expand(String body) {
    if (body.startsWith("${BYTES:")) {
      return HexFormat.of().parseHex(body.substring("${BYTES:".length(), body.length() - 1));
    }
    Matcher m = PLACEHOLDER.matcher(body);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      m.appendReplacement(out, Matcher.quoteReplacement(value(m.group(1), m.group(2))));
    }
    m.appendTail(out);
    return out.toString().getBytes(StandardCharsets.UTF_8);
  }

  private static String value(String name, String argument) {
    Base64.Encoder b64 = Base64.getEncoder();
    return switch (name) {
      case "REPEAT" -> {
        int colon = argument.indexOf(':');
        yield argument.substring(colon + 1).repeat(Integer.parseInt(argument.substring(0, colon)));
      }
      case "B64" -> b64.encodeToString(argument.getBytes(StandardCharsets.UTF_8));
      case "PNG" -> b64.encodeToString(image("png", 4));
      case "GIF" -> b64.encodeToString(image("gif", 4));
      case "PNG_TRUNCATED" -> b64.encodeToString(Arrays.copyOf(image("png", 64), 40));
      case "JPEG_TRUNCATED" -> b64.encodeToString(Arrays.copyOf(image("jpeg", 64), 100));
      case "PNG_HEADER" -> b64.encodeToString(Arrays.copyOf(image("png", 4), 8));
      case "BOMB_PNG" -> b64.encodeToString(bomb());
      case "ZEROS_PNG_B64" -> {
        byte[] bytes = new byte[Integer.parseInt(argument)];
        System.arraycopy(image("png", 4), 0, bytes, 0, 8);
        yield b64.encodeToString(bytes);
      }
      default -> throw new IllegalArgumentException("unknown placeholder " + name);
    };
  }

  private static byte[] image(String format, int size) {
    BufferedImage image = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
    for (int i = 0; i < size; i++) {
      image.setRGB(i, i, 0xFF0000);
    }
    try (ByteArrayOutputStream out = new ByteArrayOutputStream()) {
      ImageIO.write(image, format, out);
      return out.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A 1x1 PNG whose header claims 50000 x 50000 pixels (width and height at bytes 16..23). */
  private static byte[] bomb() {
    byte[] png = image("png", 1);
    for (int d = 0; d < 2; d++) {
      for (int i = 0; i < 4; i++) {
        png[16 + d * 4 + i] = (byte) (50_000 >>> (24 - 8 * i));
      }
    }
    return png;
  }
}
