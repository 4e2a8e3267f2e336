package dev.inferpipe.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import dev.inferpipe.api.ApiSettings;
import dev.inferpipe.consumer.ConsumerSettings;
import dev.inferpipe.consumer.batch.BatchSettings;
import dev.inferpipe.core.config.DeploymentKeys;
import dev.inferpipe.core.config.KafkaSettings;
import dev.inferpipe.core.config.S3Settings;
import dev.inferpipe.core.config.Topics;
import dev.inferpipe.core.telemetry.Logging;
import dev.inferpipe.core.webhook.WebhookSettings;
import dev.inferpipe.notifier.NotifierSettings;
import dev.inferpipe.sink.SinkSettings;
import io.kubernetes.client.custom.Quantity;
import io.kubernetes.client.openapi.models.V1Container;
import io.kubernetes.client.openapi.models.V1Deployment;
import io.kubernetes.client.openapi.models.V1EnvVar;
import io.kubernetes.client.openapi.models.V1Ingress;
import io.kubernetes.client.openapi.models.V1IPBlock;
import io.kubernetes.client.openapi.models.V1NetworkPolicy;
import io.kubernetes.client.openapi.models.V1NetworkPolicyEgressRule;
import io.kubernetes.client.openapi.models.V1NetworkPolicyPeer;
import io.kubernetes.client.openapi.models.V1NetworkPolicyPort;
import io.kubernetes.client.openapi.models.V1SecretKeySelector;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class HelmChartTest {
  static final Path CHART = Path.of("..", "helm", "inferpipe");

  /** Variables the code reads that are not *_ENV constants of a settings class. */
  private static final Set<String> ALSO_READ = Set.of("POD_NAME", "AWS_ACCESS_KEY_ID",
      "AWS_SECRET_ACCESS_KEY", "JAVA_TOOL_OPTIONS", "DJL_CACHE_DIR", "ENGINE_CACHE_DIR");
  /** Read by the services, but only set when the feature is configured. */
  private static final Set<String> OPTIONAL = Set.of(KafkaSettings.SECURITY_PROTOCOL_ENV,
      KafkaSettings.SASL_MECHANISM_ENV, KafkaSettings.SASL_CALLBACK_HANDLER_ENV,
      KafkaSettings.SSL_TRUSTSTORE_LOCATION_ENV, S3Settings.ENDPOINT_ENV,
      ApiSettings.API_KEYS_FILE_ENV, ApiSettings.TRACE_URL_TEMPLATE_ENV);

  static Set<String> envConstants(Class<?>... types) {
    Set<String> names = new HashSet<>();
    for (Class<?> type : types) {
      for (Field field : type.getDeclaredFields()) {
        if (field.getName().endsWith("_ENV") && Modifier.isStatic(field.getModifiers())
            && field.getType() == String.class) {
          try {
            field.setAccessible(true);
            names.add((String) field.get(null));
          } catch (IllegalAccessException e) {
            throw new AssertionError(e);
          }
        }
      }
    }
    return names;
  }

  private static final Set<String> COMMON = envConstants(KafkaSettings.class, Topics.class,
      Logging.class);
  /** The output bucket: every service but webhook-notifier, which has no S3 access. */
  private static final Set<String> S3 = envConstants(S3Settings.class);
  /** The record-signing and hashing keys: producer-api and gpu-consumer only. */
  private static final Set<String> KEYS = envConstants(DeploymentKeys.class);
  /** The deployment's webhook secret and allow-list: producer-api and webhook-notifier. */
  private static final Set<String> WEBHOOKS = envConstants(WebhookSettings.class);
  /** Read by the code but never set by the chart: the local stack's loopback webhooks. */
  private static final Set<String> NEVER_SET = Set.of(WebhookSettings.ALLOW_LOOPBACK_ENV);
  private static final Map<String, Set<String>> READ_BY = Map.of(
      "producer-api", union(COMMON, S3, KEYS, WEBHOOKS, envConstants(ApiSettings.class)),
      "gpu-consumer", union(COMMON, S3, KEYS, envConstants(ConsumerSettings.class),
          envConstants(BatchSettings.class), Set.of(ApiSettings.MODELS_ENV)),
      "storage-sink", union(COMMON, S3, envConstants(SinkSettings.class)),
      "webhook-notifier", union(COMMON, WEBHOOKS, envConstants(NotifierSettings.class)));
  static final List<String> COMPONENTS = List.of("producer-api", "gpu-consumer", "storage-sink",
      "webhook-notifier");

  /** Base64 of 32 bytes (0..31) and of 32 other bytes: valid keys for the chart. */
  static final String SIGNING_KEY = key(0);
  static final String HASH_KEY = key(32);
  /** A deployment webhook secret of 40 characters. */
  static final String WEBHOOK_SECRET = "whsec-0123456789abcdef0123456789abcdef01";

  private static String key(int first) {
    byte[] key = new byte[32];
    for (int i = 0; i < key.length; i++) {
      key[i] = (byte) (first + i);
    }
    return Base64.getEncoder().encodeToString(key);
  }

  /**
   * Renders the chart with {@code values}; unless they configure the keys (which the chart
   * requires), with {@code keys.existingSecret=inferpipe-keys}.
   */
  static String render(Map<String, Object> values) {
    Map<String, Object> all = new HashMap<>(values);
    if (values.keySet().stream().noneMatch(k -> k.startsWith("keys."))) {
      all.put("keys.existingSecret", "inferpipe-keys");
    }
    return RenderedManifests.render(CHART, all);
  }

  static List<Map<String, Object>> objects(Map<String, Object> values) {
    return RenderedManifests.objects(render(values));
  }

  @SafeVarargs
  private static Set<String> union(Set<String>... sets) {
    return Stream.of(sets).flatMap(Set::stream).collect(Collectors.toSet());
  }

  static Stream<Arguments> valueSets() {
    return Stream.of(
        Arguments.of("defaults", Map.of()),
        Arguments.of("keda on", Map.of("gpuConsumer.keda.enabled", true)),
        Arguments.of("two gpus", Map.of("gpuConsumer.gpus", 2)),
        Arguments.of("existing secrets", Map.of("secrets.producerApi.existingSecret", "api-secrets",
            "secrets.gpuConsumer.existingSecret", "consumer-secrets",
            "secrets.storageSink.existingSecret", "sink-secrets",
            "kafka.securityProtocol", "SASL_SSL", "kafka.saslMechanism", "AWS_MSK_IAM",
            "kafka.saslClientCallbackHandlerClass",
            "software.amazon.msk.auth.iam.IAMClientCallbackHandler")),
        Arguments.of("ingress on", Map.of("producerApi.ingress.enabled", true,
            "producerApi.ingress.className", "nginx", "producerApi.ingress.tlsSecret", "api-tls")),
        Arguments.of("chart-made secrets and keys, monitor, s3-compatible", Map.of(
            "secrets.storageSink.create", true,
            "secrets.storageSink.values.awsAccessKeyId", "AKIA-TEST",
            "secrets.producerApi.create", true,
            "secrets.producerApi.values.kafkaSslTruststorePassword", "changeit",
            "keys.signingKey", SIGNING_KEY, "keys.hashKey", HASH_KEY,
            "serviceMonitor.enabled", true,
            "s3.endpoint", "http://minio:9000", "s3.pathStyle", true,
            "kafka.truststoreSecret", "kafka-ca")),
        Arguments.of("direct publish off, vqa image prefixes", Map.of(
            "gpuConsumer.directPublish.enabled", false,
            "gpuConsumer.vqaImagePrefixes[0]", "s3://inferpipe-inputs/{tenant}/")),
        Arguments.of("chart-made webhook secret, allow-list, extra egress, api keys off", Map.of(
            "webhooks.secret.value", WEBHOOK_SECRET,
            "webhooks.allowedHosts[0]", "hooks.example.com",
            "webhooks.allowedHosts[1]", "*.example.org",
            "secrets.webhookNotifier.create", true,
            "secrets.webhookNotifier.values.kafkaSaslJaasConfig", "jaas",
            "webhookNotifier.networkPolicy.extraEgress[0].to[0].ipBlock.cidr", "10.0.5.10/32",
            "auth.enabled", false, "serviceMonitor.enabled", true)),
        Arguments.of("webhook notifier off", Map.of("webhookNotifier.enabled", false)));
  }

  @Test
  void chartLintsCleanInStrictMode() {
    LintResult lint = new Helm(CHART).lint().strict().call();
    assertThat(lint.isFailed()).as(String.join("\n", lint.getMessages())).isFalse();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("valueSets")
  void everyRenderedObjectIsAValidKubernetesObject(String name, Map<String, Object> values)
      throws Exception {
    List<Map<String, Object>> objects = objects(values);
    assertThat(objects).hasSizeGreaterThanOrEqualTo(12);
    for (Map<String, Object> object : objects) {
      RenderedManifests.validate(object);
      @SuppressWarnings("unchecked")
      Map<String, Object> labels = (Map<String, Object>) ((Map<String, Object>) object.get("metadata")).get("labels");
      assertThat(labels).containsKeys("app.kubernetes.io/name", "app.kubernetes.io/instance",
          "app.kubernetes.io/version", "app.kubernetes.io/managed-by", "app.kubernetes.io/component");
    }
    for (V1Deployment deployment : deployments(objects)) {
      String component = deployment.getMetadata().getLabels().get("app.kubernetes.io/component");
      V1Container container = deployment.getSpec().getTemplate().getSpec().getContainers().get(0);
      assertThat(container.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
      assertThat(container.getSecurityContext().getAllowPrivilegeEscalation()).isFalse();
      assertThat(container.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
      assertThat(deployment.getSpec().getTemplate().getSpec().getSecurityContext().getRunAsNonRoot())
          .isTrue();
      assertThat(container.getStartupProbe()).isNotNull();
      assertThat(container.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/readyz");
      assertThat(container.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/healthz");
      Set<String> set = container.getEnv().stream().map(V1EnvVar::getName).collect(Collectors.toSet());
      Set<String> read = READ_BY.get(component);
      assertThat(set).as("%s sets only variables it reads", component).allSatisfy(env ->
          assertThat(read.contains(env) || ALSO_READ.contains(env) || env.startsWith("OTEL_"))
              .as(env).isTrue());
      Set<String> required = new HashSet<>(read);
      required.removeAll(OPTIONAL);
      required.removeAll(NEVER_SET);
      assertThat(set).as("%s sets every variable it reads", component).containsAll(required);
      assertThat(set).as("%s: never set by the chart", component).doesNotContainAnyElementsOf(NEVER_SET);
    }
  }

  private static List<V1Deployment> deployments(List<Map<String, Object>> objects) {
    return objects.stream().filter(o -> "Deployment".equals(o.get("kind")))
        .map(o -> RenderedManifests.as(o, V1Deployment.class)).toList();
  }

  private static V1Container container(List<Map<String, Object>> objects, String component) {
    return deployments(objects).stream()
        .filter(d -> d.getMetadata().getName().endsWith(component)).findFirst().orElseThrow()
        .getSpec().getTemplate().getSpec().getContainers().get(0);
  }

  @Test
  void gpuConsumerGetsGpusNodeSelectionProbesOnTheManagementPortAndAModelCache() {
    List<Map<String, Object>> defaults = objects(Map.of());
    V1Container consumer = container(defaults, "gpu-consumer");
    assertThat(consumer.getResources().getLimits()).containsEntry("nvidia.com/gpu", new Quantity("1"));
    assertThat(consumer.getReadinessProbe().getHttpGet().getPort().getStrValue()).isEqualTo("management");
    assertThat(consumer.getPorts().get(0).getContainerPort()).isEqualTo(9464);
    assertThat(consumer.getVolumeMounts()).anySatisfy(m -> assertThat(m.getMountPath()).isEqualTo("/var/cache/inferpipe"));
    V1Deployment deployment = deployments(defaults).stream()
        .filter(d -> d.getMetadata().getName().endsWith("gpu-consumer")).findFirst().orElseThrow();
    assertThat(deployment.getSpec().getTemplate().getSpec().getNodeSelector())
        .containsEntry("nvidia.com/gpu.present", "true");
    assertThat(deployment.getSpec().getTemplate().getSpec().getTolerations())
        .anySatisfy(t -> assertThat(t.getKey()).isEqualTo("nvidia.com/gpu"));

    List<Map<String, Object>> twoGpus = objects(Map.of("gpuConsumer.gpus", 2));
    assertThat(container(twoGpus, "gpu-consumer").getResources().getLimits())
        .containsEntry("nvidia.com/gpu", new Quantity("2"));
  }

  @Test
  void kedaScalesTheConsumerOnLagAndOwnsItsReplicaCount() {
    List<Map<String, Object>> objects = objects(Map.of("gpuConsumer.keda.enabled", true));
    Map<String, Object> scaled = objects.stream().filter(o -> "ScaledObject".equals(o.get("kind")))
        .findFirst().orElseThrow();
    assertThat(scaled.get("apiVersion")).isEqualTo("keda.sh/v1alpha1");
    assertThat(scaled.toString()).contains("type=kafka", "consumerGroup=inferpipe-gpu-consumer",
        "topic=inference.requests", "lagThreshold=5", "name=inferpipe-gpu-consumer");
    assertThat(deployments(objects).stream()
        .filter(d -> d.getMetadata().getName().endsWith("gpu-consumer")).findFirst().orElseThrow()
        .getSpec().getReplicas()).isNull();
    assertThat(objects).anySatisfy(o -> assertThat(o.get("kind")).isEqualTo("HorizontalPodAutoscaler"));
  }

  /** Names of the Secrets a container's env reads through secretKeyRef. */
  private static Set<String> secretRefs(V1Container container) {
    return container.getEnv().stream().filter(env -> env.getValueFrom() != null)
        .map(env -> env.getValueFrom().getSecretKeyRef()).filter(Objects::nonNull)
        .map(V1SecretKeySelector::getName).collect(Collectors.toSet());
  }

  private static List<Map<String, Object>> secrets(List<Map<String, Object>> objects) {
    return objects.stream().filter(o -> "Secret".equals(o.get("kind"))).toList();
  }

  @Test
  void eachServiceReadsOnlyItsOwnSecret() {
    // Defaults: one (optional) Secret per service, none shared, none made by the chart.
    List<Map<String, Object>> defaults = objects(Map.of());
    assertThat(secrets(defaults)).isEmpty();
    Map<String, Set<String>> shared = Map.of(
        "producer-api", Set.of("inferpipe-keys", "inferpipe-webhooks"),
        "gpu-consumer", Set.of("inferpipe-keys"),
        "storage-sink", Set.of(),
        "webhook-notifier", Set.of("inferpipe-webhooks"));
    for (String component : COMPONENTS) {
      assertThat(secretRefs(container(defaults, component))).as(component)
          .containsExactlyInAnyOrderElementsOf(union(Set.of("inferpipe-" + component + "-secrets"),
              shared.get(component)));
    }
    assertThat(container(defaults, "storage-sink").getEnv()).anySatisfy(env -> {
      assertThat(env.getName()).isEqualTo(KafkaSettings.SASL_JAAS_CONFIG_ENV);
      assertThat(env.getValueFrom().getSecretKeyRef().getName())
          .isEqualTo("inferpipe-storage-sink-secrets");
      assertThat(env.getValueFrom().getSecretKeyRef().getOptional()).isTrue();
    });

    // Existing Secrets, one per service.
    List<Map<String, Object>> existing = objects(Map.of(
        "secrets.producerApi.existingSecret", "api-secrets",
        "secrets.gpuConsumer.existingSecret", "consumer-secrets",
        "secrets.storageSink.existingSecret", "sink-secrets",
        "secrets.webhookNotifier.existingSecret", "notifier-secrets"));
    assertThat(secrets(existing)).isEmpty();
    assertThat(secretRefs(container(existing, "producer-api")))
        .containsExactlyInAnyOrder("api-secrets", "inferpipe-keys", "inferpipe-webhooks");
    assertThat(secretRefs(container(existing, "webhook-notifier")))
        .containsExactlyInAnyOrder("notifier-secrets", "inferpipe-webhooks");
    assertThat(secretRefs(container(existing, "gpu-consumer")))
        .containsExactlyInAnyOrder("consumer-secrets", "inferpipe-keys");
    assertThat(secretRefs(container(existing, "storage-sink"))).containsExactly("sink-secrets");

    // Made by the chart for one service: only that service reads it.
    List<Map<String, Object>> created = objects(Map.of("secrets.gpuConsumer.create", true,
        "secrets.gpuConsumer.values.kafkaSaslJaasConfig", "jaas",
        "secrets.gpuConsumer.values.awsSecretAccessKey", "consumer-only"));
    assertThat(secrets(created)).singleElement().satisfies(secret -> {
      assertThat(secret.toString()).contains("name=inferpipe-gpu-consumer-secrets",
          "kafkaSaslJaasConfig=jaas", "awsSecretAccessKey=consumer-only");
      assertThat(secret.toString()).doesNotContain("awsAccessKeyId");
    });
    assertThat(secretRefs(container(created, "producer-api")))
        .doesNotContain("inferpipe-gpu-consumer-secrets");
    assertThat(secretRefs(container(created, "storage-sink")))
        .doesNotContain("inferpipe-gpu-consumer-secrets");
    assertThat(secretRefs(container(created, "webhook-notifier")))
        .doesNotContain("inferpipe-gpu-consumer-secrets");

    // The shared Secret of chart 0.1 is refused, naming its replacement.
    assertThatThrownBy(() -> render(Map.of("secrets.existingSecret", "team-secrets")))
        .hasMessageContaining("secrets.existingSecret")
        .hasMessageContaining("secrets.producerApi");
  }

  @Test
  void signingAndHashKeysReachOnlyTheApiAndTheConsumer() {
    List<Map<String, Object>> existing = objects(Map.of("keys.existingSecret", "team-keys"));
    assertThat(secrets(existing)).isEmpty();
    for (String component : List.of("producer-api", "gpu-consumer")) {
      Map<String, V1SecretKeySelector> refs = container(existing, component).getEnv().stream()
          .filter(env -> KEYS.contains(env.getName()))
          .collect(Collectors.toMap(V1EnvVar::getName, env -> env.getValueFrom().getSecretKeyRef()));
      assertThat(refs).as(component).containsOnlyKeys(DeploymentKeys.SIGNING_KEY_ENV,
          DeploymentKeys.HASH_KEY_ENV);
      assertThat(refs.get(DeploymentKeys.SIGNING_KEY_ENV).getKey()).isEqualTo("signing-key");
      assertThat(refs.get(DeploymentKeys.HASH_KEY_ENV).getKey()).isEqualTo("hash-key");
      // Not optional: a pod without its keys does not start.
      assertThat(refs.values()).allSatisfy(ref -> {
        assertThat(ref.getName()).isEqualTo("team-keys");
        assertThat(ref.getOptional()).isNotEqualTo(Boolean.TRUE);
      });
    }
    for (String component : List.of("storage-sink", "webhook-notifier")) {
      V1Container container = container(existing, component);
      assertThat(container.getEnv()).as(component).noneMatch(env -> KEYS.contains(env.getName()));
      assertThat(secretRefs(container)).as(component).doesNotContain("team-keys");
      assertThat(deployments(existing).stream()
          .filter(d -> d.getMetadata().getName().endsWith(component)).findFirst().orElseThrow()
          .toString()).as(component).doesNotContain("team-keys");
    }

    List<Map<String, Object>> created = objects(Map.of("keys.signingKey", SIGNING_KEY,
        "keys.hashKey", HASH_KEY));
    assertThat(secrets(created)).singleElement().satisfies(secret -> assertThat(secret.toString())
        .contains("name=inferpipe-keys", "signing-key=" + SIGNING_KEY, "hash-key=" + HASH_KEY));
    assertThat(secretRefs(container(created, "gpu-consumer"))).contains("inferpipe-keys");
    assertThat(secretRefs(container(created, "storage-sink"))).doesNotContain("inferpipe-keys");
  }

  @Test
  void renderingFailsWithoutTheKeysOrWithWeakOnes() {
    assertThatThrownBy(() -> RenderedManifests.render(CHART, Map.of()))
        .hasMessageContaining("keys.existingSecret")
        .hasMessageContaining("openssl rand -base64 32");
    String shortKey = Base64.getEncoder().encodeToString(new byte[16]);
    assertThatThrownBy(() -> render(Map.of("keys.signingKey", shortKey, "keys.hashKey", HASH_KEY)))
        .hasMessageContaining("keys.signingKey decodes to 16 bytes");
    assertThatThrownBy(() -> render(Map.of("keys.signingKey", SIGNING_KEY)))
        .hasMessageContaining("keys.existingSecret");
    assertThatThrownBy(() -> render(Map.of("keys.signingKey", "not base64!", "keys.hashKey",
        HASH_KEY))).hasMessageContaining("signingKey");
    assertThatThrownBy(() -> render(Map.of("keys.signingKey", SIGNING_KEY, "keys.hashKey",
        SIGNING_KEY))).hasMessageContaining("must be different");
    assertThatThrownBy(() -> render(Map.of("keys.existingSecret", "team-keys",
        "keys.hashKey", HASH_KEY))).hasMessageContaining("not both");
  }

  private static String env(V1Container container, String name) {
    return container.getEnv().stream().filter(env -> env.getName().equals(name)).findFirst()
        .orElseThrow(() -> new AssertionError(name + " not set")).getValue();
  }

  @Test
  void gpuConsumerGetsTheDirectPublishAndVqaImageSettings() {
    V1Container defaults = container(objects(Map.of()), "gpu-consumer");
    assertThat(env(defaults, "INFERPIPE_DIRECT_PUBLISH")).isEqualTo("true");
    assertThat(env(defaults, "INFERPIPE_DIRECT_TENANT")).isEqualTo("external");
    assertThat(env(defaults, "INFERPIPE_VQA_IMAGE_PREFIXES")).isEmpty();

    V1Container set = container(objects(Map.of("gpuConsumer.directPublish.enabled", false,
        "gpuConsumer.directPublish.tenant", "partners",
        "gpuConsumer.vqaImagePrefixes[0]", "s3://inferpipe-inputs/{tenant}/",
        "gpuConsumer.vqaImagePrefixes[1]", "s3://shared-images/public/")), "gpu-consumer");
    assertThat(env(set, "INFERPIPE_DIRECT_PUBLISH")).isEqualTo("false");
    assertThat(env(set, "INFERPIPE_DIRECT_TENANT")).isEqualTo("partners");
    assertThat(env(set, "INFERPIPE_VQA_IMAGE_PREFIXES"))
        .isEqualTo("s3://inferpipe-inputs/{tenant}/,s3://shared-images/public/");
    for (String component : List.of("producer-api", "storage-sink")) {
      assertThat(container(objects(Map.of()), component).getEnv()).as(component)
          .noneMatch(env -> env.getName().startsWith("INFERPIPE_DIRECT_")
              || env.getName().equals("INFERPIPE_VQA_IMAGE_PREFIXES"));
    }
    // A prefix must be an s3:// bucket and a prefix ending in '/' (no bucket-wide prefix match).
    assertThatThrownBy(() -> render(Map.of("gpuConsumer.vqaImagePrefixes[0]",
        "s3://inferpipe-inputs/tenant-a"))).hasMessageContaining("vqaImagePrefixes");
    assertThatThrownBy(() -> render(Map.of("gpuConsumer.vqaImagePrefixes[0]",
        "https://example.com/images/"))).hasMessageContaining("vqaImagePrefixes");
  }

  static final String METADATA_V4 = "169.254.169.254";
  static final String METADATA_V6 = "fd00:ec2::254";

  /** Whether {@code cidr} (IPv4 or IPv6) contains {@code address}. */
  static boolean covers(String cidr, String address) {
    try {
      String[] parts = cidr.split("/");
      byte[] network = InetAddress.getByName(parts[0]).getAddress();
      byte[] host = InetAddress.getByName(address).getAddress();
      if (network.length != host.length) {
        return false;
      }
      int bits = network.length * 8;
      int prefix = parts.length > 1 ? Integer.parseInt(parts[1]) : bits;
      BigInteger mask = prefix == 0 ? BigInteger.ZERO
          : BigInteger.ONE.shiftLeft(bits).subtract(BigInteger.ONE)
              .xor(BigInteger.ONE.shiftLeft(bits - prefix).subtract(BigInteger.ONE));
      return new BigInteger(1, network).and(mask).equals(new BigInteger(1, host).and(mask));
    } catch (UnknownHostException e) {
      throw new AssertionError(cidr, e);
    }
  }

  /** Whether one egress peer lets traffic to {@code address} through. */
  static boolean allows(V1NetworkPolicyPeer peer, String address) {
    V1IPBlock block = peer.getIpBlock();
    if (block == null) {
      return false; // pod and namespace selectors select pods; the metadata address is none
    }
    List<String> except = block.getExcept() == null ? List.of() : block.getExcept();
    return covers(block.getCidr(), address) && except.stream().noneMatch(e -> covers(e, address));
  }

  @Test
  void networkPoliciesKeepEveryServiceAwayFromTheInstanceMetadataService() {
    assertThat(covers("0.0.0.0/0", METADATA_V4)).isTrue();
    assertThat(covers("::/0", METADATA_V6)).isTrue();
    assertThat(covers("169.254.169.254/32", "169.254.169.253")).isFalse();
    List<V1NetworkPolicy> policies = objects(Map.of()).stream()
        .filter(o -> "NetworkPolicy".equals(o.get("kind")))
        .map(o -> RenderedManifests.as(o, V1NetworkPolicy.class)).toList();
    assertThat(policies).hasSize(COMPONENTS.size());
    for (String component : COMPONENTS) {
      V1NetworkPolicy policy = policies.stream()
          .filter(p -> p.getMetadata().getName().equals("inferpipe-" + component))
          .findFirst().orElseThrow();
      assertThat(policy.getSpec().getPodSelector().getMatchLabels())
          .containsEntry("app.kubernetes.io/component", component);
      assertThat(policy.getSpec().getPolicyTypes()).as(component)
          .containsExactlyInAnyOrder("Ingress", "Egress");
      List<V1NetworkPolicyEgressRule> egress = policy.getSpec().getEgress();
      assertThat(egress).as(component).isNotEmpty();
      for (V1NetworkPolicyEgressRule rule : egress) {
        // A rule without `to` allows every destination, the metadata address included.
        assertThat(rule.getTo()).as("%s: an egress rule names its destinations", component)
            .isNotEmpty();
        for (V1NetworkPolicyPeer peer : rule.getTo()) {
          assertThat(allows(peer, METADATA_V4)).as("%s allows %s: %s", component, METADATA_V4, peer)
              .isFalse();
          assertThat(allows(peer, METADATA_V6)).as("%s allows %s: %s", component, METADATA_V6, peer)
              .isFalse();
        }
      }
      // What the services need stays reachable: any other address (MSK, S3 and STS over HTTPS,
      // an external collector) and pods in any namespace (DNS, an in-cluster Kafka or collector).
      List<V1NetworkPolicyPeer> peers = egress.stream().flatMap(r -> r.getTo().stream()).toList();
      assertThat(peers).anySatisfy(peer -> {
        assertThat(peer.getIpBlock()).isNotNull();
        assertThat(peer.getIpBlock().getCidr()).isEqualTo("0.0.0.0/0");
        assertThat(peer.getIpBlock().getExcept()).containsExactly("169.254.169.254/32");
      });
      assertThat(peers).anySatisfy(peer -> {
        assertThat(peer.getIpBlock()).isNotNull();
        assertThat(peer.getIpBlock().getCidr()).isEqualTo("::/0");
        assertThat(peer.getIpBlock().getExcept()).containsExactly("fd00:ec2::254/128");
      });
      for (String address : List.of("10.0.12.7", "52.216.8.1", "2600:1f18::1")) {
        assertThat(peers).as("%s reaches %s", component, address)
            .anyMatch(peer -> allows(peer, address));
      }
      assertThat(peers).anySatisfy(peer -> {
        assertThat(peer.getNamespaceSelector()).isNotNull();
        assertThat(peer.getNamespaceSelector().getMatchLabels()).isNullOrEmpty();
        assertThat(peer.getNamespaceSelector().getMatchExpressions()).isNullOrEmpty();
        assertThat(peer.getPodSelector()).isNull();
      });
    }
  }

  @Test
  void apiKeysAreOnByDefaultFromAMountedSecret() {
    List<Map<String, Object>> on = objects(Map.of());
    V1Container api = container(on, "producer-api");
    assertThat(api.getEnv()).anySatisfy(env -> {
      assertThat(env.getName()).isEqualTo(ApiSettings.API_KEYS_FILE_ENV);
      assertThat(env.getValue()).isEqualTo("/etc/inferpipe/api-keys/keys.json");
    });
    assertThat(api.getVolumeMounts()).anySatisfy(m ->
        assertThat(m.getMountPath()).isEqualTo("/etc/inferpipe/api-keys"));
    List<Map<String, Object>> off = objects(Map.of("auth.enabled", false));
    assertThat(container(off, "producer-api").getEnv())
        .noneMatch(env -> env.getName().equals(ApiSettings.API_KEYS_FILE_ENV));
  }

  @Test
  void ingressRoutesTheApiWithTls() {
    List<Map<String, Object>> objects = objects(Map.of("producerApi.ingress.enabled", true,
        "producerApi.ingress.tlsSecret", "api-tls"));
    V1Ingress ingress = objects.stream().filter(o -> "Ingress".equals(o.get("kind")))
        .map(o -> RenderedManifests.as(o, V1Ingress.class)).findFirst().orElseThrow();
    assertThat(ingress.getSpec().getRules().get(0).getHost()).isEqualTo("inferpipe.example.com");
    assertThat(ingress.getSpec().getTls().get(0).getSecretName()).isEqualTo("api-tls");
  }

  @Test
  void valuesSchemaRejectsAMisspelledOrMistypedValue() {
    assertThatThrownBy(() -> render(Map.of("gpuConsumer.device", "tpu")))
        .hasMessageContaining("device");
    assertThatThrownBy(() -> render(Map.of("gpuConsumer.gpuz", 2)))
        .hasMessageContaining("gpuz");
  }

  @Test
  void aBrokenChartFailsTheChecksNamingTheField() throws URISyntaxException {
    Path broken = Path.of(HelmChartTest.class.getResource("/broken-chart/Chart.yaml").toURI()).getParent();
    List<Map<String, Object>> objects = RenderedManifests.objects(RenderedManifests.render(broken, Map.of()));
    Map<String, Object> deployment = objects.stream().filter(o -> "Deployment".equals(o.get("kind")))
        .findFirst().orElseThrow();
    Map<String, Object> service = objects.stream().filter(o -> "Service".equals(o.get("kind")))
        .findFirst().orElseThrow();
    assertThatThrownBy(() -> RenderedManifests.validate(deployment))
        .hasMessageContaining("readinesProbe");
    assertThatThrownBy(() -> RenderedManifests.validate(service))
        .hasMessageContaining("eighty");
  }

  private static List<Map<String, Object>> ofComponent(List<Map<String, Object>> objects,
      String kind, String component) {
    return objects.stream().filter(o -> kind.equals(o.get("kind")))
        .filter(o -> component.equals(labels(o).get("app.kubernetes.io/component"))).toList();
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> labels(Map<String, Object> object) {
    return (Map<String, Object>) ((Map<String, Object>) object.get("metadata")).get("labels");
  }

  private static V1EnvVar envVar(V1Container container, String name) {
    return container.getEnv().stream().filter(env -> env.getName().equals(name)).findFirst()
        .orElseThrow(() -> new AssertionError(name + " not set"));
  }

  private static V1Deployment notifierDeployment(List<Map<String, Object>> objects) {
    return deployments(objects).stream()
        .filter(d -> d.getMetadata().getName().equals("inferpipe-webhook-notifier")).findFirst()
        .orElseThrow(() -> new AssertionError("no webhook-notifier Deployment"));
  }

  @Test
  void webhookNotifierRunsExactlyOneReplicaWithTheRecreateStrategy() {
    List<Map<String, Object>> objects = objects(Map.of("serviceMonitor.enabled", true));
    V1Deployment deployment = notifierDeployment(objects);
    // Deliveries are not split between replicas: two pods would POST every webhook twice, and a
    // rolling update would run two for a while.
    assertThat(deployment.getSpec().getReplicas()).isEqualTo(1);
    assertThat(deployment.getSpec().getStrategy().getType()).isEqualTo("Recreate");
    assertThat(deployment.getSpec().getStrategy().getRollingUpdate()).isNull();
    assertThatThrownBy(() -> render(Map.of("webhookNotifier.replicas", 2)))
        .hasMessageContaining("replicas");
    V1Container container = container(objects, "webhook-notifier");
    assertThat(container.getImage()).isEqualTo("ghcr.io/inferpipe/webhook-notifier:0.1.0");
    assertThat(container.getPorts()).singleElement().satisfies(port -> {
      assertThat(port.getName()).isEqualTo("management");
      assertThat(port.getContainerPort()).isEqualTo(9466);
    });
    assertThat(container.getStartupProbe().getHttpGet().getPath()).isEqualTo("/healthz");
    assertThat(container.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/readyz");
    assertThat(container.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/healthz");
    for (var probe : List.of(container.getStartupProbe(), container.getReadinessProbe(),
        container.getLivenessProbe())) {
      assertThat(probe.getHttpGet().getPort().getStrValue()).isEqualTo("management");
    }
    assertThat(env(container, NotifierSettings.MANAGEMENT_PORT_ENV)).isEqualTo("9466");
    assertThat(env(container, NotifierSettings.GROUP_ENV)).isEqualTo("inferpipe-webhook-notifier");
    assertThat(env(container, NotifierSettings.RETRY_FOR_ENV)).isEqualTo("1h");
    assertThat(env(container, NotifierSettings.FIRST_BACKOFF_ENV)).isEqualTo("1s");
    assertThat(env(container, NotifierSettings.MAX_BACKOFF_ENV)).isEqualTo("5m");
    assertThat(env(container, NotifierSettings.CONNECT_TIMEOUT_ENV)).isEqualTo("5s");
    assertThat(env(container, NotifierSettings.ATTEMPT_TIMEOUT_ENV)).isEqualTo("10s");
    assertThat(env(container, NotifierSettings.CONCURRENCY_ENV)).isEqualTo("8");
    assertThat(env(container, Topics.WEBHOOKS_ENV)).isEqualTo("inference.webhooks");
    assertThat(env(container, Topics.STATUS_ENV)).isEqualTo("inference.status");
    // No S3 access, no signing or hashing keys, never the local stack's loopback switch.
    assertThat(container.getEnv()).extracting(V1EnvVar::getName)
        .doesNotContainAnyElementsOf(S3).doesNotContainAnyElementsOf(KEYS)
        .doesNotContain(WebhookSettings.ALLOW_LOOPBACK_ENV);

    assertThat(ofComponent(objects, "Service", "webhook-notifier")).singleElement()
        .satisfies(service -> assertThat(service.toString()).contains("port=9466",
            "targetPort=management", "type=ClusterIP"));
    assertThat(ofComponent(objects, "ServiceAccount", "webhook-notifier")).singleElement();
    assertThat(ofComponent(objects, "ServiceMonitor", "webhook-notifier")).singleElement()
        .satisfies(monitor -> assertThat(monitor.toString()).contains("port=management",
            "path=/metrics", "honorLabels=true"));
    // One replica: a PodDisruptionBudget could only keep its node from draining.
    assertThat(ofComponent(objects, "PodDisruptionBudget", "webhook-notifier")).isEmpty();

    List<Map<String, Object>> custom = objects(Map.of("webhookNotifier.retryFor", "30m",
        "webhookNotifier.concurrency", 16, "webhookNotifier.managementPort", 9500,
        "webhookNotifier.consumerGroup", "team-notifier",
        "webhookNotifier.serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn",
        "arn:aws:iam::123456789012:role/inferpipe-webhook-notifier"));
    V1Container set = container(custom, "webhook-notifier");
    assertThat(env(set, NotifierSettings.RETRY_FOR_ENV)).isEqualTo("30m");
    assertThat(env(set, NotifierSettings.CONCURRENCY_ENV)).isEqualTo("16");
    assertThat(env(set, NotifierSettings.MANAGEMENT_PORT_ENV)).isEqualTo("9500");
    assertThat(env(set, NotifierSettings.GROUP_ENV)).isEqualTo("team-notifier");
    assertThat(set.getPorts().get(0).getContainerPort()).isEqualTo(9500);
    assertThat(ofComponent(custom, "ServiceAccount", "webhook-notifier")).singleElement()
        .satisfies(account -> assertThat(account.toString())
            .contains("eks.amazonaws.com/role-arn=arn:aws:iam::123456789012:role/inferpipe-webhook-notifier"));
    // Durations in the services' format (30s, 5m, 1h), not ISO-8601.
    assertThatThrownBy(() -> render(Map.of("webhookNotifier.retryFor", "PT1H")))
        .hasMessageContaining("retryFor");
  }

  @Test
  void webhookNotifierReadsTheApiKeysFileWhenKeysAreOn() {
    V1Deployment on = notifierDeployment(objects(Map.of()));
    V1Container container = on.getSpec().getTemplate().getSpec().getContainers().get(0);
    assertThat(env(container, NotifierSettings.API_KEYS_FILE_ENV))
        .isEqualTo("/etc/inferpipe/api-keys/keys.json");
    assertThat(container.getVolumeMounts()).anySatisfy(mount -> {
      assertThat(mount.getName()).isEqualTo("api-keys");
      assertThat(mount.getMountPath()).isEqualTo("/etc/inferpipe/api-keys");
      assertThat(mount.getReadOnly()).isTrue();
    });
    assertThat(on.getSpec().getTemplate().getSpec().getVolumes()).anySatisfy(volume -> {
      assertThat(volume.getName()).isEqualTo("api-keys");
      assertThat(volume.getSecret().getSecretName()).isEqualTo("inferpipe-api-keys");
    });
    // The same Secret as producer-api's.
    V1Deployment custom = notifierDeployment(objects(Map.of("auth.keysSecret", "team-api-keys")));
    assertThat(custom.getSpec().getTemplate().getSpec().getVolumes()).anySatisfy(volume ->
        assertThat(volume.getSecret() == null ? null : volume.getSecret().getSecretName())
            .isEqualTo("team-api-keys"));

    V1Deployment off = notifierDeployment(objects(Map.of("auth.enabled", false)));
    V1Container offContainer = off.getSpec().getTemplate().getSpec().getContainers().get(0);
    assertThat(offContainer.getEnv()).noneMatch(env ->
        env.getName().equals(NotifierSettings.API_KEYS_FILE_ENV));
    assertThat(offContainer.getVolumeMounts()).noneMatch(m -> m.getName().equals("api-keys"));
    assertThat(off.getSpec().getTemplate().getSpec().getVolumes())
        .noneMatch(v -> v.getName().equals("api-keys"));
  }

  @Test
  void webhookNotifierOffRendersNothingOfIt() {
    List<Map<String, Object>> off = objects(Map.of("webhookNotifier.enabled", false,
        "serviceMonitor.enabled", true, "secrets.webhookNotifier.create", true,
        "secrets.webhookNotifier.values.kafkaSaslJaasConfig", "jaas"));
    assertThat(deployments(off)).extracting(d -> d.getMetadata().getName())
        .containsExactlyInAnyOrder("inferpipe-producer-api", "inferpipe-gpu-consumer",
            "inferpipe-storage-sink");
    assertThat(off).noneMatch(o -> "webhook-notifier".equals(labels(o)
        .get("app.kubernetes.io/component")));
    assertThat(off.toString()).doesNotContain("webhook-notifier");
    // producer-api still shows deliveries of the webhooks topic and checks webhook_url.
    V1Container api = container(off, "producer-api");
    assertThat(env(api, Topics.WEBHOOKS_ENV)).isEqualTo("inference.webhooks");
    assertThat(api.getEnv()).extracting(V1EnvVar::getName)
        .contains(WebhookSettings.SECRET_ENV, WebhookSettings.ALLOWED_HOSTS_ENV);
  }

  @Test
  void theWebhookSecretAndAllowListReachOnlyTheApiAndTheNotifier() {
    // Defaults: <fullname>-webhooks if it exists (optional), any public host.
    List<Map<String, Object>> defaults = objects(Map.of());
    assertThat(secrets(defaults)).isEmpty();
    for (String component : List.of("producer-api", "webhook-notifier")) {
      V1Container container = container(defaults, component);
      V1SecretKeySelector ref = envVar(container, WebhookSettings.SECRET_ENV).getValueFrom()
          .getSecretKeyRef();
      assertThat(ref.getName()).as(component).isEqualTo("inferpipe-webhooks");
      assertThat(ref.getKey()).as(component).isEqualTo("webhook-secret");
      assertThat(ref.getOptional()).as(component).isTrue();
      assertThat(env(container, WebhookSettings.ALLOWED_HOSTS_ENV)).as(component).isEmpty();
      assertThat(env(container, Topics.WEBHOOKS_ENV)).as(component).isEqualTo("inference.webhooks");
    }
    for (String component : List.of("gpu-consumer", "storage-sink")) {
      assertThat(container(defaults, component).getEnv()).as(component)
          .noneMatch(env -> WEBHOOKS.contains(env.getName()));
      assertThat(secretRefs(container(defaults, component))).as(component)
          .doesNotContain("inferpipe-webhooks");
    }

    // An existing Secret: required (a pod without it does not start), with its own key.
    List<Map<String, Object>> existing = objects(Map.of(
        "webhooks.secret.existingSecret", "team-webhooks", "webhooks.secret.key", "secret",
        "webhooks.allowedHosts[0]", "hooks.example.com",
        "webhooks.allowedHosts[1]", "*.example.org",
        "kafka.topics.webhooks", "team.webhooks"));
    assertThat(secrets(existing)).isEmpty();
    for (String component : List.of("producer-api", "webhook-notifier")) {
      V1Container container = container(existing, component);
      V1SecretKeySelector ref = envVar(container, WebhookSettings.SECRET_ENV).getValueFrom()
          .getSecretKeyRef();
      assertThat(ref.getName()).as(component).isEqualTo("team-webhooks");
      assertThat(ref.getKey()).as(component).isEqualTo("secret");
      assertThat(ref.getOptional()).as(component).isNotEqualTo(Boolean.TRUE);
      assertThat(env(container, WebhookSettings.ALLOWED_HOSTS_ENV)).as(component)
          .isEqualTo("hooks.example.com,*.example.org");
      assertThat(env(container, Topics.WEBHOOKS_ENV)).as(component).isEqualTo("team.webhooks");
    }

    // A value: the chart makes <fullname>-webhooks, which the two read.
    List<Map<String, Object>> created = objects(Map.of("webhooks.secret.value", WEBHOOK_SECRET));
    assertThat(secrets(created)).singleElement().satisfies(secret -> {
      assertThat(secret.toString()).contains("name=inferpipe-webhooks",
          "webhook-secret=" + WEBHOOK_SECRET);
      assertThat(labels(secret)).containsEntry("app.kubernetes.io/component", "webhooks");
    });
    for (String component : List.of("producer-api", "webhook-notifier")) {
      V1SecretKeySelector ref = envVar(container(created, component), WebhookSettings.SECRET_ENV)
          .getValueFrom().getSecretKeyRef();
      assertThat(ref.getName()).isEqualTo("inferpipe-webhooks");
      assertThat(ref.getOptional()).isNotEqualTo(Boolean.TRUE);
    }
    assertThat(secretRefs(container(created, "gpu-consumer"))).doesNotContain("inferpipe-webhooks");

    // The services refuse a secret under 32 characters; the chart fails first.
    assertThatThrownBy(() -> render(Map.of("webhooks.secret.value", "too-short")))
        .hasMessageContaining("webhooks.secret.value has 9 characters")
        .hasMessageContaining("openssl rand -hex 32");
    assertThatThrownBy(() -> render(Map.of("webhooks.secret.value", WEBHOOK_SECRET,
        "webhooks.secret.existingSecret", "team-webhooks"))).hasMessageContaining("not both");
    // Host names or *.suffix patterns, as the services read them: not URLs.
    assertThatThrownBy(() -> render(Map.of("webhooks.allowedHosts[0]",
        "https://hooks.example.com/"))).hasMessageContaining("allowedHosts");
  }

  /** Whether some egress rule lets TCP traffic to {@code address}:{@code port} through. */
  static boolean reaches(List<V1NetworkPolicyEgressRule> egress, String address, int port) {
    return egress.stream().anyMatch(rule -> {
      List<V1NetworkPolicyPort> ports = rule.getPorts();
      boolean portAllowed = ports == null || ports.isEmpty() || ports.stream().anyMatch(p ->
          (p.getProtocol() == null || p.getProtocol().equals("TCP")) && p.getPort() != null
              && p.getPort().isInteger() && p.getPort().getIntValue() == port);
      return portAllowed && rule.getTo() != null
          && rule.getTo().stream().anyMatch(peer -> allows(peer, address));
    });
  }

  private static V1NetworkPolicy notifierPolicy(Map<String, Object> values) {
    return objects(values).stream().filter(o -> "NetworkPolicy".equals(o.get("kind")))
        .map(o -> RenderedManifests.as(o, V1NetworkPolicy.class))
        .filter(p -> p.getMetadata().getName().equals("inferpipe-webhook-notifier")).findFirst()
        .orElseThrow(() -> new AssertionError("no NetworkPolicy for webhook-notifier"));
  }

  @Test
  void webhookNotifierReachesPublicHttpsAndKafkaButNoPrivateOrLinkLocalAddress() {
    V1NetworkPolicy policy = notifierPolicy(Map.of());
    List<V1NetworkPolicyEgressRule> egress = policy.getSpec().getEgress();
    // Webhook receivers: https on public addresses.
    for (String address : List.of("93.184.216.34", "52.216.8.1", "2606:2800:220:1::1")) {
      assertThat(reaches(egress, address, 443)).as("reaches %s:443", address).isTrue();
      assertThat(reaches(egress, address, 80)).as("reaches %s:80", address).isFalse();
      assertThat(reaches(egress, address, 8443)).as("reaches %s:8443", address).isFalse();
    }
    // Never private, shared or link-local ranges (cloud metadata), on 443 or any other port.
    for (String address : List.of("10.0.12.7", "172.16.0.1", "172.31.255.254", "192.168.1.1",
        "169.254.169.254", "169.254.170.2", "100.64.0.1", METADATA_V6, "fd12:3456::1", "fe80::1")) {
      for (int port : List.of(443, 80, 8080)) {
        assertThat(reaches(egress, address, port)).as("reaches %s:%s", address, port).isFalse();
      }
    }
    assertThat(egress).anySatisfy(rule -> {
      assertThat(rule.getPorts()).extracting(p -> p.getPort().getIntValue()).containsExactly(443);
      assertThat(rule.getTo()).anySatisfy(peer -> {
        assertThat(peer.getIpBlock().getCidr()).isEqualTo("0.0.0.0/0");
        assertThat(peer.getIpBlock().getExcept()).contains("10.0.0.0/8", "172.16.0.0/12",
            "192.168.0.0/16", "169.254.0.0/16");
      });
      assertThat(rule.getTo()).anySatisfy(peer -> {
        assertThat(peer.getIpBlock().getCidr()).isEqualTo("::/0");
        assertThat(peer.getIpBlock().getExcept()).contains("fc00::/7", "fe80::/10",
            "64:ff9b::/96", "2002::/16");
      });
    });
    // Kafka (MSK in the VPC, on its client ports) and pods in any namespace (DNS, an in-cluster
    // Kafka or collector), as the other services.
    for (int port : List.of(9092, 9094, 9096, 9098)) {
      assertThat(reaches(egress, "10.0.12.7", port)).as("MSK on %s", port).isTrue();
    }
    assertThat(reaches(egress, METADATA_V4, 9098)).isFalse();
    assertThat(egress).anySatisfy(rule -> assertThat(rule.getTo()).anySatisfy(peer -> {
      assertThat(peer.getNamespaceSelector()).isNotNull();
      assertThat(peer.getNamespaceSelector().getMatchLabels()).isNullOrEmpty();
      assertThat(peer.getPodSelector()).isNull();
    }));
    // Ingress: its management port, from the metrics namespace only.
    assertThat(policy.getSpec().getIngress()).singleElement().satisfies(rule -> {
      assertThat(rule.getPorts()).extracting(p -> p.getPort().getIntValue()).containsExactly(9466);
      assertThat(rule.getFrom()).singleElement().satisfies(peer -> assertThat(
          peer.getNamespaceSelector().getMatchLabels())
          .containsEntry("kubernetes.io/metadata.name", "monitoring"));
    });

    // Receivers on another port, and an STS VPC endpoint (IRSA) at a private address.
    List<V1NetworkPolicyEgressRule> custom = notifierPolicy(Map.of(
        "webhookNotifier.networkPolicy.webhookPorts[0]", 443,
        "webhookNotifier.networkPolicy.webhookPorts[1]", 8443,
        "webhookNotifier.networkPolicy.extraEgress[0].to[0].ipBlock.cidr", "10.0.5.10/32",
        "webhookNotifier.networkPolicy.extraEgress[0].ports[0].port", 443)).getSpec().getEgress();
    assertThat(reaches(custom, "93.184.216.34", 8443)).isTrue();
    assertThat(reaches(custom, "10.0.5.10", 443)).isTrue();
    assertThat(reaches(custom, "10.0.5.11", 443)).isFalse();
    assertThat(reaches(custom, "169.254.169.254", 443)).isFalse();
    // An extra rule must name its destinations (a rule without `to` would allow every address).
    assertThatThrownBy(() -> render(Map.of(
        "webhookNotifier.networkPolicy.extraEgress[0].ports[0].port", 443)))
        .hasMessageContaining("extraEgress");

    assertThat(objects(Map.of("webhookNotifier.enabled", false)).stream()
        .filter(o -> "NetworkPolicy".equals(o.get("kind")))).hasSize(3);
  }
}
