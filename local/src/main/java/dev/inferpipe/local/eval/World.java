package dev.inferpipe.local.eval;

import dev.inferpipe.core.job.JobCodec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/**
 * The language of the shapes world, split into what training text is made of and what only the
 * evaluation uses: {@code models/world.json}, written by {@code models/inferpipe_models/world.py}
 * (the training's own source of truth), so the held-out phrasings here are exactly the ones the
 * training commands assert they never saw.
 */
public final class World {
  private final JsonNode json;

  private World(JsonNode json) {
    this.json = json;
  }

  public static World load(Path file) throws IOException {
    return new World(new JobCodec().parseTree(Files.readAllBytes(file)));
  }

  /** The default location, relative to the repository root ({@code ./pipeline} runs there). */
  public static final Path DEFAULT = Path.of("models", "world.json");

  /** {@code train} or {@code held_out} words for a colour ("red") or shape ("circle"). */
  public List<String> colourWords(String split, String colour) {
    return strings(json.path("colour_words").path(split).path(colour));
  }

  public List<String> shapeWords(String split, String shape) {
    return strings(json.path("shape_words").path(split).path(shape));
  }

  /** Prompt templates with {o} (and {o2}) for one or two objects. */
  public List<String> promptTemplates(String split, int objects) {
    return strings(json.path("prompt_templates").path(split).path(String.valueOf(objects)));
  }

  /** Held-out ways to say a coloured shape: {colour}, {shape}. */
  public List<String> heldOutObjectForms() {
    return strings(json.path("held_out_object_forms"));
  }

  /** Question templates by family (colour, shape, exists, count, ...): {colour}, {shape}, {shapes}. */
  public Map<String, List<String>> questionTemplates(String split) {
    Map<String, List<String>> families = new LinkedHashMap<>();
    json.path("question_templates").path(split).properties()
        .forEach(e -> families.put(e.getKey(), strings(e.getValue())));
    return families;
  }

  public List<String> heldOutWords() {
    return strings(json.path("held_out_words"));
  }

  /** The RGB a colour is drawn in. */
  public int[] rgb(String colour) {
    JsonNode rgb = json.path("colours").path(colour);
    return new int[] {rgb.get(0).asInt(), rgb.get(1).asInt(), rgb.get(2).asInt()};
  }

  private static List<String> strings(JsonNode array) {
    List<String> values = new ArrayList<>();
    array.forEach(v -> values.add(v.asString()));
    return values;
  }
}
