package dev.inferpipe.local;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * Reads {@code testdata/hostile-kafka.json} and expands its placeholders into the bytes of a
 * Kafka record. The format is documented on {@link HostileKafkaIT}.
 */
final class HostileKafkaCorpus {
  static final JsonMapper JSON = JsonMapper.builder().build();
  private static final Pattern PLACEHOLDER =
      Pattern.compile("\\$\\{([A-Z0-9_]+)(?::([^}]*))?\\}");

  /** One corpus entry, as written in the file (placeholders not yet expanded). */
  record Entry(int index, String name, String topic, JsonNode raw) {
    boolean has(String field) {
      return raw.has(field);
    }

    JsonNode get(String field) {
      return raw.get(field);
    }

    JsonNode expect() {
      return raw.get("expect");
    }

    @Override
    public String toString() {
      return String.format("#%02d %s: %s", index, topic, name);
    }
  }

  /** One header after expansion; {@code value} may be null. */
  record Header(String name, byte[] value) {}

  private HostileKafkaCorpus() {}

  /** The corpus, from the repository's {@code testdata} folder (tests run in the module dir). */
  static List<Entry> load() {
    Path file = Path.of("..", "testdata", "hostile-kafka.json");
    try {
      JsonNode corpus = JSON.readTree(Files.readAllBytes(file));
      List<Entry> entries = new ArrayList<>();
      int index = 0;
      for (JsonNode entry : corpus) {
        index++;
        String topic = entry.get("topic").asString();
        if (!List.of("requests", "status", "outputs").contains(topic)) {
          throw new IllegalArgumentException("entry " + index + ": unknown topic " + topic);
        }
        if (!entry.has("name") || !entry.has("expect")) {
          throw new IllegalArgumentException("entry " + index + " needs name and expect");
        }
        entries.add(new Entry(index, entry.get("name").asString(), topic, entry));
      }
      return entries;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file.toAbsolutePath(), e);
    }
  }

  /**
   * Expands a string: literal text becomes UTF-8; each placeholder becomes the bytes
   * {@code resolver} gives for its name and argument.
   */
  static byte[] expand(String text, Placeholders resolver) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    Matcher m = PLACEHOLDER.matcher(text);
    int last = 0;
    while (m.find()) {
      out.writeBytes(text.substring(last, m.start()).getBytes(StandardCharsets.UTF_8));
      out.writeBytes(resolver.resolve(m.group(1), m.group(2)));
      last = m.end();
    }
    out.writeBytes(text.substring(last).getBytes(StandardCharsets.UTF_8));
    return out.toByteArray();
  }

  static String expandToString(String text, Placeholders resolver) {
    return new String(expand(text, resolver), StandardCharsets.UTF_8);
  }

  /**
   * A key, value or header value from the file: JSON null stays null, a string is expanded, an
   * object or array is expanded field by field and encoded as JSON ({@code "$status": victim}
   * starts from that victim's status document; {@code "$remove"} lists fields to drop).
   */
  static byte[] bytes(JsonNode node, Placeholders resolver, Function<String, ObjectNode> statusOf) {
    if (node == null || node.isNull()) {
      return null;
    }
    if (node.isString()) {
      return expand(node.asString(), resolver);
    }
    return JSON.writeValueAsBytes(expandTree(node, resolver, statusOf));
  }

  static JsonNode expandTree(JsonNode node, Placeholders resolver,
      Function<String, ObjectNode> statusOf) {
    if (node.isString()) {
      return JSON.getNodeFactory().stringNode(expandToString(node.asString(), resolver));
    }
    if (node.isArray()) {
      var array = JSON.createArrayNode();
      for (JsonNode item : node) {
        array.add(expandTree(item, resolver, statusOf));
      }
      return array;
    }
    if (node.isObject()) {
      ObjectNode out = node.has("$status")
          ? statusOf.apply(node.get("$status").asString()).deepCopy()
          : JSON.createObjectNode();
      for (Map.Entry<String, JsonNode> field : node.properties()) {
        if (field.getKey().equals("$status") || field.getKey().equals("$remove")) {
          continue;
        }
        out.set(field.getKey(), expandTree(field.getValue(), resolver, statusOf));
      }
      if (node.has("$remove")) {
        for (JsonNode name : node.get("$remove")) {
          out.remove(name.asString());
        }
      }
      return out;
    }
    return node;
  }

  /** The bytes of one placeholder; the test knows the victims and the entry's fresh ids. */
  interface Placeholders {
    byte[] resolve(String name, String argument);
  }

  /** Placeholders that need nothing from the running stack. */
  static byte[] common(String name, String argument) {
    switch (name) {
      case "BYTES":
        return HexFormat.of().parseHex(argument);
      case "REPEAT": {
        int colon = argument.indexOf(':');
        int times = Integer.parseInt(argument.substring(0, colon));
        return argument.substring(colon + 1).repeat(times).getBytes(StandardCharsets.UTF_8);
      }
      case "NOW_PLUS_MS":
        return Long.toString(System.currentTimeMillis() + Long.parseLong(argument))
            .getBytes(StandardCharsets.UTF_8);
      case "HEX64": {
        byte[] random = new byte[32];
        new java.security.SecureRandom().nextBytes(random);
        return HexFormat.of().formatHex(random).getBytes(StandardCharsets.UTF_8);
      }
      default:
        throw new IllegalArgumentException("unknown placeholder ${" + name + "}");
    }
  }
}
