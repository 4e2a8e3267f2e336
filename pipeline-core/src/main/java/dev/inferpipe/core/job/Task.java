package dev.inferpipe.core.job;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/** The kind of inference a job asks for; the wire name is what appears in JSON. */
public enum Task {
  TXT2IMG("txt2img"),
  VQA("vqa");

  private final String wireName;

  Task(String wireName) {
    this.wireName = wireName;
  }

  @JsonValue
  public String wireName() {
    return wireName;
  }

  @JsonCreator
  public static Task fromWireName(String name) {
    for (Task task : values()) {
      if (task.wireName.equals(name)) {
        return task;
      }
    }
    throw new IllegalArgumentException("unknown task '" + name + "'");
  }
}
