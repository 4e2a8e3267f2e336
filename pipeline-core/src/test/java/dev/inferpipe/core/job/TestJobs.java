package dev.inferpipe.core.job;

import dev.inferpipe.core.model.ModelCatalog;
import dev.inferpipe.core.model.ModelSpec;
import java.util.Base64;
import java.util.List;

/** Shared fixtures: the two bundled model cards and small valid jobs. */
public final class TestJobs {
  public static final ModelSpec DIFFUSION = ModelSpec.limits("tiny-shapes-diffusion", Task.TXT2IMG,
      32, 32, 200, 25, List.of("ddim", "euler", "ddpm"), null);
  public static final ModelSpec VQA = ModelSpec.limits("tiny-shapes-vqa", Task.VQA, 64, 64, null,
      null, null, 4);
  public static final ModelCatalog CATALOG = ModelCatalog.of(DIFFUSION, VQA);

  /** The 8-byte PNG signature plus padding: enough for the API's format sniffing. */
  public static final String PNG_BASE64 = Base64.getEncoder().encodeToString(
      new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13});

  private TestJobs() {}

  public static String txt2img(String inputFields) {
    return "{\"task\":\"txt2img\",\"model_id\":\"tiny-shapes-diffusion\",\"input\":{" + inputFields
        + "}}";
  }

  public static String vqa(String inputFields) {
    return "{\"task\":\"vqa\",\"model_id\":\"tiny-shapes-vqa\",\"input\":{" + inputFields + "}}";
  }
}
