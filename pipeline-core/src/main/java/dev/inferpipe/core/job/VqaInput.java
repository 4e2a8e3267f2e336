package dev.inferpipe.core.job;

/** Visual question answering input: {@code image} is base64 PNG/JPEG bytes or an s3:// URI. */
public record VqaInput(String image, String question, Integer maxNewTokens) implements JobInput {

  public boolean imageIsS3Uri() {
    return image.startsWith("s3://");
  }

  // The image is often megabytes of base64: keep it out of toString (and so out of logs).
  @Override
  public String toString() {
    return "VqaInput[image=<" + image.length() + " chars>, question=<" + question.length()
        + " chars>, maxNewTokens=" + maxNewTokens + "]";
  }
}
