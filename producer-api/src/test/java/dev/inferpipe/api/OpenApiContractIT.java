package dev.inferpipe.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inferpipe.core.job.JobCodec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * The OpenAPI document against a validator people use (npm {@code @apidevtools/swagger-parser},
 * pinned by tools/openapi/package-lock.json) and against the running API: every route the
 * server answers is documented, every documented operation is answered.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OpenApiContractIT {
  static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  static final Path TOOL = ROOT.resolve("tools/openapi");
  static final Path DOCUMENT = ROOT.resolve("producer-api/src/main/resources/openapi.yaml");
  private ApiTestStack stack;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    if (!Files.isDirectory(TOOL.resolve("node_modules/@apidevtools/swagger-parser"))) {
      // A fresh clone: install the pinned validator so `./mvnw verify` stands alone.
      Process npm = new ProcessBuilder("npm", "ci", "--prefix", TOOL.toString(), "--no-audit",
          "--no-fund").redirectErrorStream(true).start();
      String output = new String(npm.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(npm.waitFor()).as("npm ci --prefix tools/openapi: %s", output).isZero();
    }
    stack = new ApiTestStack(dir);
    stack.awaitReady();
  }

  @AfterAll
  void stop() {
    if (stack != null) {
      stack.close();
    }
  }

  private static JsonNode validate(Path document) throws Exception {
    Process node = new ProcessBuilder("node", TOOL.resolve("validate.mjs").toString(),
        document.toString()).start();
    byte[] out = node.getInputStream().readAllBytes();
    String err = new String(node.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(node.waitFor()).as("swagger-parser on %s: %s", document.getFileName(), err)
        .isZero();
    return new JobCodec().parseTree(out);
  }

  @Test
  void theDocumentValidates() throws Exception {
    JsonNode result = validate(DOCUMENT);
    assertThat(result.get("valid").asBoolean()).isTrue();
    assertThat(result.get("version").asString()).isEqualTo("3.1.0");
  }

  @Test
  void theValidatorRefusesAFlowMappingWhoseDescriptionHoldsCommas(@TempDir Path dir)
      throws Exception {
    // The document's old style: in a YAML flow mapping the commas split the description into
    // stray keys, which an OpenAPI 3.1 response reference may not have.
    Path broken = dir.resolve("broken.yaml");
    Files.writeString(broken, """
        openapi: 3.1.0
        info: {title: t, version: '1'}
        paths:
          /v1/jobs:
            post:
              responses:
                '400': {$ref: '#/components/responses/Error', description: invalid JSON, schema violation, unknown model}
        components:
          responses:
            Error: {description: an error}
        """);
    Process node = new ProcessBuilder("node", TOOL.resolve("validate.mjs").toString(),
        broken.toString()).redirectErrorStream(true).start();
    String output = new String(node.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(node.waitFor()).as(output).isEqualTo(1);
    assertThat(output).contains("/paths/~1v1~1jobs/post/responses/400");
  }

  @Test
  void everyRouteIsDocumentedAndEveryDocumentedOperationIsAnswered() throws Exception {
    TreeSet<String> documented = new TreeSet<>();
    validate(DOCUMENT).get("operations").forEach(op -> documented.add(op.asString()));
    TreeSet<String> served = new TreeSet<>(stack.api.routes());
    assertThat(served).as("routes the server answers").isEqualTo(documented);
    // And by request: no documented operation gets the router's own 404 (no endpoint).
    for (String operation : documented) {
      String[] parts = operation.split(" ", 2);
      String path = parts[1].replace("{id}", "some-job");
      var response = stack.request(parts[0], path, parts[0].equals("POST") ? "{}" : null,
          Map.of("Content-Type", "application/json"));
      assertThat(response.body()).as(operation).doesNotContain("no route")
          .doesNotContainPattern("Endpoint [A-Z]+ \\S+ not found");
    }
    var nowhere = stack.request("GET", "/v1/nowhere", null, Map.of());
    assertThat(nowhere.statusCode()).isEqualTo(404);
    assertThat(nowhere.headers().firstValue("Content-Type").orElse("")).startsWith("application/json");
    assertThat(nowhere.body()).contains("\"code\":\"NOT_FOUND\"", "no route /v1/nowhere");
  }
}
