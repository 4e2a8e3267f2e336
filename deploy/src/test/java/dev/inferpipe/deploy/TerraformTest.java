package dev.inferpipe.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.inferpipe.core.kafka.RecordLimits;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every .tf under terraform/ goes through the real HCL2 parser (HashiCorp's Go implementation via
 * npm @cdktf/hcl2json, pinned by tools/hcl2json/package-lock.json), then structural checks. What
 * this cannot check: provider schemas (no `terraform validate` without the providers) and a real
 * apply. docs/DEPLOY.md says so.
 */
class TerraformTest {
  static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  static final Path TERRAFORM = ROOT.resolve("terraform");
  static final Path PARSER = ROOT.resolve("tools/hcl2json/parse.mjs");
  private static final Map<String, JsonObject> FILES = new TreeMap<>();

  @BeforeAll
  static void parseEverything() throws Exception {
    Path tool = ROOT.resolve("tools/hcl2json");
    if (!Files.isDirectory(tool.resolve("node_modules/@cdktf/hcl2json"))) {
      // A fresh clone: install the pinned parser (package-lock.json) so `./mvnw verify` stands alone.
      Process npm = new ProcessBuilder("npm", "ci", "--prefix", tool.toString(), "--no-audit",
          "--no-fund").redirectErrorStream(true).start();
      String output = new String(npm.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(npm.waitFor()).as("npm ci --prefix tools/hcl2json: %s", output).isZero();
    }
    try (Stream<Path> files = Files.walk(TERRAFORM)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".tf")).toList()) {
        FILES.put(TERRAFORM.relativize(file).toString(), parse(file));
      }
    }
  }

  static JsonObject parse(Path file) throws IOException, InterruptedException {
    Process node = new ProcessBuilder("node", PARSER.toString(), file.toString()).start();
    byte[] out = node.getInputStream().readAllBytes();
    String err = new String(node.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    if (node.waitFor() != 0) {
      throw new IllegalStateException("HCL parse error in " + file + ": " + err.trim());
    }
    return JsonParser.parseString(new String(out, StandardCharsets.UTF_8)).getAsJsonObject();
  }

  /** The first block at {@code path} (HCL blocks become arrays in the JSON). */
  static JsonElement at(JsonElement json, String... path) {
    JsonElement current = json;
    for (String key : path) {
      if (current.isJsonArray()) {
        current = current.getAsJsonArray().get(0);
      }
      JsonElement next = current.getAsJsonObject().get(key);
      assertThat(next).as("%s in %s", key, current).isNotNull();
      current = next;
    }
    return current.isJsonArray() && current.getAsJsonArray().size() == 1
        && current.getAsJsonArray().get(0).isJsonObject() ? current.getAsJsonArray().get(0) : current;
  }

  private static JsonObject file(String name) {
    assertThat(FILES).containsKey(name);
    return FILES.get(name);
  }

  @Test
  void everyModuleAndTheExamplePinTerraformAndTheAwsProvider() {
    for (String dir : new String[] {"modules/output-bucket", "modules/msk", "modules/service-iam",
        "examples/complete"}) {
      JsonElement terraform = at(file(dir + "/versions.tf"), "terraform");
      assertThat(at(terraform, "required_version").getAsString()).startsWith(">= 1.6.0");
      JsonElement aws = at(terraform, "required_providers", "aws");
      assertThat(at(aws, "source").getAsString()).isEqualTo("hashicorp/aws");
      assertThat(at(aws, "version").getAsString()).startsWith("~> 5.");
    }
  }

  @Test
  void everyVariableIsTypedAndDescribed() {
    FILES.forEach((name, json) -> {
      if (json.has("variable")) {
        json.getAsJsonObject("variable").entrySet().forEach(variable -> {
          JsonObject body = variable.getValue().getAsJsonArray().get(0).getAsJsonObject();
          assertThat(body.has("type")).as("%s: variable %s has a type", name, variable.getKey()).isTrue();
          assertThat(body.has("description")).as("%s: %s described", name, variable.getKey()).isTrue();
        });
      }
    });
    assertThat(at(file("modules/output-bucket/variables.tf"), "variable", "bucket_name",
        "validation").toString()).contains("regex");
  }

  @Test
  void outputBucketIsVersionedEncryptedPrivateTlsOnlyAndExpires() {
    JsonObject bucket = file("modules/output-bucket/main.tf");
    assertThat(at(bucket, "resource", "aws_s3_bucket_versioning", "outputs", "versioning_configuration",
        "status").getAsString()).isEqualTo("Enabled");
    assertThat(at(bucket, "resource", "aws_s3_bucket_server_side_encryption_configuration", "outputs",
        "rule", "apply_server_side_encryption_by_default", "sse_algorithm").getAsString())
        .isEqualTo("aws:kms");
    JsonElement block = at(bucket, "resource", "aws_s3_bucket_public_access_block", "outputs");
    for (String flag : new String[] {"block_public_acls", "block_public_policy", "ignore_public_acls",
        "restrict_public_buckets"}) {
      assertThat(at(block, flag).getAsBoolean()).as(flag).isTrue();
    }
    assertThat(at(bucket, "data", "aws_iam_policy_document", "tls_only").toString())
        .contains("aws:SecureTransport", "Deny");
    assertThat(at(bucket, "resource", "aws_s3_bucket_lifecycle_configuration", "outputs", "rule",
        "expiration", "days").getAsString()).isEqualTo("${var.output_expiry_days}");
  }

  @Test
  void kafkaClusterUsesTlsAndIamAuthAndShipsBrokerLogs() {
    JsonElement msk = at(file("modules/msk/main.tf"), "resource", "aws_msk_cluster", "this");
    assertThat(at(msk, "kafka_version").getAsString()).isEqualTo("${var.kafka_version}");
    assertThat(at(msk, "client_authentication", "sasl", "iam").getAsBoolean()).isTrue();
    assertThat(at(msk, "client_authentication", "unauthenticated").getAsBoolean()).isFalse();
    assertThat(at(msk, "encryption_info", "encryption_in_transit", "client_broker").getAsString())
        .isEqualTo("TLS");
    assertThat(at(msk, "logging_info", "broker_logs", "cloudwatch_logs", "enabled").getAsBoolean())
        .isTrue();
  }

  @Test
  void kafkaClusterAcceptsTheRecordsTheServicesWrite() throws IOException {
    Properties server = new Properties();
    server.load(new StringReader(at(file("modules/msk/main.tf"), "resource",
        "aws_msk_configuration", "this", "server_properties").getAsString()));
    String max = String.valueOf(RecordLimits.MAX_RECORD_BYTES);
    assertThat(max).isEqualTo("10485760");
    assertThat(server).containsEntry("message.max.bytes", max)
        .containsEntry("replica.fetch.max.bytes", max)
        .containsEntry("auto.create.topics.enable", "false");
    // Topics made outside the services' provisioner must allow the same size.
    assertThat(Files.readString(ROOT.resolve("docs/DEPLOY.md")))
        .contains("max.message.bytes=" + max, "max.request.size", "replica.fetch.max.bytes");
  }

  /** A statement's list attribute, resolving a {@code ${local.name}} reference to its list. */
  private static Set<String> list(JsonObject statement, String key, JsonObject locals) {
    JsonElement value = statement.get(key);
    if (value == null) {
      return Set.of();
    }
    if (value.isJsonPrimitive()) {
      String ref = value.getAsString();
      assertThat(ref).as("%s: a list or ${local.name}", key).matches("\\$\\{local\\.[a-z_]+}");
      value = locals.get(ref.substring("${local.".length(), ref.length() - 1));
      assertThat(value).as(ref).isNotNull();
    }
    Set<String> items = new HashSet<>();
    value.getAsJsonArray().forEach(item -> items.add(item.getAsString()));
    return items;
  }

  private static List<JsonObject> statements(JsonObject iam, String policy) {
    JsonArray statements = at(iam, "data", "aws_iam_policy_document", policy).getAsJsonObject()
        .getAsJsonArray("statement");
    List<JsonObject> list = new ArrayList<>();
    statements.forEach(s -> list.add(s.getAsJsonObject()));
    return list;
  }

  private static boolean denies(JsonObject statement) {
    return statement.has("effect") && statement.get("effect").getAsString().equals("Deny");
  }

  /** Topics (as ${local.topic.x}) a policy allows {@code action} on, and those its Deny spares. */
  private static void assertTopicBoundary(JsonObject iam, String policy, String action,
      Set<String> topics) {
    JsonObject locals = at(iam, "locals").getAsJsonObject();
    Set<String> allowed = new HashSet<>();
    List<Set<String>> spared = new ArrayList<>();
    for (JsonObject statement : statements(iam, policy)) {
      Set<String> actions = list(statement, "actions", locals);
      if (!actions.contains(action)) {
        continue;
      }
      if (denies(statement)) {
        spared.add(list(statement, "not_resources", locals));
        assertThat(statement.has("resources")).as("%s: a Deny on %s names not_resources", policy,
            action).isFalse();
      } else {
        allowed.addAll(list(statement, "resources", locals));
      }
    }
    Set<String> expected = new HashSet<>();
    topics.forEach(t -> expected.add("${local.topic." + t + "}"));
    assertThat(allowed).as("%s: topics with %s", policy, action)
        .containsExactlyInAnyOrderElementsOf(expected);
    assertThat(spared).as("%s: one Deny of %s on every other topic", policy, action)
        .containsExactly(expected);
  }

  @Test
  void eachRoleWritesAndReadsExactlyItsOwnTopicsWithIdempotentProducers() {
    JsonObject iam = file("modules/service-iam/main.tf");
    Map<String, List<Set<String>>> boundary = Map.of(
        "producer_api", List.of(Set.of("requests", "status"), Set.of("status", "webhooks")),
        "gpu_consumer", List.of(Set.of("outputs", "status", "dlq"), Set.of("requests", "status")),
        "storage_sink", List.of(Set.of("status", "dlq"), Set.of("outputs", "status")),
        "webhook_notifier", List.of(Set.of("webhooks"), Set.of("status", "webhooks")));
    JsonObject locals = at(iam, "locals").getAsJsonObject();
    boundary.forEach((policy, topics) -> {
      assertTopicBoundary(iam, policy, "kafka-cluster:WriteData", topics.get(0));
      assertTopicBoundary(iam, policy, "kafka-cluster:ReadData", topics.get(1));
      // Every producer is idempotent: WriteDataIdempotently is granted on the cluster.
      assertThat(statements(iam, policy)).as("%s: WriteDataIdempotently", policy)
          .anySatisfy(statement -> {
            assertThat(denies(statement)).isFalse();
            assertThat(list(statement, "actions", locals))
                .contains("kafka-cluster:WriteDataIdempotently");
            assertThat(list(statement, "resources", locals)).containsExactly("${var.msk_cluster_arn}");
          });
      for (JsonObject statement : statements(iam, policy)) {
        assertThat(list(statement, "actions", locals)).as("%s: no wildcard actions", policy)
            .noneMatch(a -> a.contains("*"));
      }
    });
  }

  @Test
  void eachServiceGetsOnlyItsOwnPermissions() {
    JsonObject iam = file("modules/service-iam/main.tf");
    String api = at(iam, "data", "aws_iam_policy_document", "producer_api").toString();
    String consumer = at(iam, "data", "aws_iam_policy_document", "gpu_consumer").toString();
    String sink = at(iam, "data", "aws_iam_policy_document", "storage_sink").toString();
    String notifier = at(iam, "data", "aws_iam_policy_document", "webhook_notifier").toString();
    assertThat(api).contains("local.topic.requests", "local.topic.status", "AlterTransactionalId")
        .doesNotContain("s3:PutObject", "local.topic.outputs");
    // Both read models from INFERPIPE_MODEL_URI: the consumer every file, the API only the cards.
    assertThat(api).contains("var.model_bucket_arn", "/*/model.json");
    assertThat(consumer).contains("var.model_bucket_arn");
    assertThat(consumer).contains("local.topic.requests", "local.topic.outputs", "local.topic.dlq")
        .doesNotContain("s3:PutObject", "TransactionalId");
    assertThat(sink).contains("s3:PutObject", "local.topic.outputs", "kms:GenerateDataKey")
        .doesNotContain("local.topic.requests");
    // The notifier: the status topic in its own group, its deliveries topic; no bucket, no key.
    assertThat(notifier).contains("local.topic.status", "local.topic.webhooks",
            "var.consumer_groups.webhook_notifier", "local.group_access")
        .doesNotContain("s3:", "kms:", "TransactionalId", "local.topic.requests",
            "local.topic.outputs", "local.topic.dlq", "model_bucket");
    assertThat(api).contains("local.topic.webhooks");
    assertThat(consumer).doesNotContain("local.topic.webhooks");
    assertThat(sink).doesNotContain("local.topic.webhooks");
    assertThat(at(iam, "locals", "services").toString()).contains("webhook-notifier");
    assertThat(at(iam, "resource", "aws_iam_role_policy", "webhook_notifier", "role").getAsString())
        .isEqualTo("${aws_iam_role.service[\"webhook-notifier\"].id}");
    String variables = file("modules/service-iam/variables.tf").toString();
    assertThat(variables).contains("inference.webhooks", "inferpipe-webhook-notifier");
    // Each service keeps a status table: it must read the status topic and its retention.
    for (String policy : List.of(api, consumer, sink, notifier)) {
      assertThat(policy).contains("local.read_status");
    }
    assertThat(at(iam, "locals").toString()).contains("DescribeTopicDynamicConfiguration");
    assertThat(at(iam, "data", "aws_iam_policy_document", "assume").toString())
        .contains("sts:AssumeRoleWithWebIdentity", "system:serviceaccount:");
    assertThat(at(file("modules/service-iam/outputs.tf"), "output", "role_arns")).isNotNull();
  }

  @Test
  void theExampleWiresTheModulesAndOutputsHelmValues() {
    JsonObject main = file("examples/complete/main.tf");
    assertThat(at(main, "module", "outputs_bucket", "source").getAsString())
        .isEqualTo("../../modules/output-bucket");
    assertThat(at(main, "module", "kafka", "source").getAsString()).isEqualTo("../../modules/msk");
    assertThat(at(main, "module", "iam", "msk_cluster_arn").getAsString())
        .isEqualTo("${module.kafka.cluster_arn}");
    String values = file("examples/complete/outputs.tf").toString();
    assertThat(values).contains("bootstrapServers", "AWS_MSK_IAM", "eks.amazonaws.com/role-arn");
    for (String service : List.of("producerApi", "gpuConsumer", "storageSink", "webhookNotifier")) {
      assertThat(values).as("helm_values of %s", service).contains(service);
    }
  }

  @Test
  void noCredentialsInCode() throws IOException {
    Pattern secret = Pattern.compile(
        "(?i)(access_key|secret_key|password|token)\\s*=|AKIA[0-9A-Z]{16}|aws_secret_access_key");
    try (Stream<Path> files = Files.walk(TERRAFORM)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        assertThat(secret.matcher(Files.readString(f)).find()).as(f.toString()).isFalse();
      }
    }
  }

  @Test
  void aBrokenFileFailsWithTheParsersMessage() throws Exception {
    Path broken = Path.of(TerraformTest.class.getResource("/broken.tf").toURI());
    assertThatThrownBy(() -> parse(broken))
        .hasMessageContaining("broken.tf:")
        .hasMessageContaining("Unclosed configuration block");
  }
}
