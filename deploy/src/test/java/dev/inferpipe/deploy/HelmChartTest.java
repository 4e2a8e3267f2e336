package dev.inferpipe.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import dev.inferpipe.api.ApiSettings;
import dev.inferpipe.consumer.ConsumerSettings;
import dev.inferpipe.core.config.KafkaSettings;
import dev.inferpipe.core.config.S3Settings;
import dev.inferpipe.core.config.Topics;
import dev.inferpipe.core.telemetry.Logging;
import dev.inferpipe.sink.SinkSettings;
import io.kubernetes.client.custom.Quantity;
import io.kubernetes.client.openapi.models.V1Container;
import io.kubernetes.client.openapi.models.V1Deployment;
import io.kubernetes.client.openapi.models.V1EnvVar;
import io.kubernetes.client.openapi.models.V1Ingress;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
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
      KafkaSettings.SSL_TRUSTSTORE_LOCATION_ENV, S3Settings.ENDPOINT_ENV, ApiSettings.MODEL_DIR_ENV,
      ApiSettings.API_KEYS_FILE_ENV);

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

  private static final Set<String> COMMON = envConstants(KafkaSettings.class, S3Settings.class,
      Topics.class, Logging.class);
  private static final Map<String, Set<String>> READ_BY = Map.of(
      "producer-api", union(COMMON, envConstants(ApiSettings.class)),
      "gpu-consumer", union(COMMON, envConstants(ConsumerSettings.class),
          Set.of(ApiSettings.MODELS_ENV)),
      "storage-sink", union(COMMON, envConstants(SinkSettings.class)));

  @SafeVarargs
  private static Set<String> union(Set<String>... sets) {
    return Stream.of(sets).flatMap(Set::stream).collect(Collectors.toSet());
  }

  static Stream<Arguments> valueSets() {
    return Stream.of(
        Arguments.of("defaults", Map.of()),
        Arguments.of("keda on", Map.of("gpuConsumer.keda.enabled", true)),
        Arguments.of("two gpus", Map.of("gpuConsumer.gpus", 2)),
        Arguments.of("existing secret", Map.of("secrets.existingSecret", "team-secrets",
            "kafka.securityProtocol", "SASL_SSL", "kafka.saslMechanism", "AWS_MSK_IAM",
            "kafka.saslClientCallbackHandlerClass",
            "software.amazon.msk.auth.iam.IAMClientCallbackHandler")),
        Arguments.of("ingress on", Map.of("producerApi.ingress.enabled", true,
            "producerApi.ingress.className", "nginx", "producerApi.ingress.tlsSecret", "api-tls")),
        Arguments.of("chart-made secret, monitor, s3-compatible", Map.of("secrets.create", true,
            "secrets.values.awsAccessKeyId", "AKIA-TEST", "serviceMonitor.enabled", true,
            "s3.endpoint", "http://minio:9000", "s3.pathStyle", true,
            "kafka.truststoreSecret", "kafka-ca")));
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
    List<Map<String, Object>> objects = RenderedManifests.objects(RenderedManifests.render(CHART, values));
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
      assertThat(set).as("%s sets every variable it reads", component).containsAll(required);
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
    List<Map<String, Object>> defaults = RenderedManifests.objects(RenderedManifests.render(CHART, Map.of()));
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

    List<Map<String, Object>> twoGpus = RenderedManifests.objects(
        RenderedManifests.render(CHART, Map.of("gpuConsumer.gpus", 2)));
    assertThat(container(twoGpus, "gpu-consumer").getResources().getLimits())
        .containsEntry("nvidia.com/gpu", new Quantity("2"));
  }

  @Test
  void kedaScalesTheConsumerOnLagAndOwnsItsReplicaCount() {
    List<Map<String, Object>> objects = RenderedManifests.objects(
        RenderedManifests.render(CHART, Map.of("gpuConsumer.keda.enabled", true)));
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

  @Test
  void secretsComeFromAnExistingSecretOrOneTheChartCreates() {
    List<Map<String, Object>> existing = RenderedManifests.objects(
        RenderedManifests.render(CHART, Map.of("secrets.existingSecret", "team-secrets")));
    assertThat(existing).noneMatch(o -> "Secret".equals(o.get("kind")));
    assertThat(container(existing, "storage-sink").getEnv()).anySatisfy(env -> {
      assertThat(env.getName()).isEqualTo("KAFKA_SASL_JAAS_CONFIG");
      assertThat(env.getValueFrom().getSecretKeyRef().getName()).isEqualTo("team-secrets");
    });
    List<Map<String, Object>> created = RenderedManifests.objects(RenderedManifests.render(CHART,
        Map.of("secrets.create", true, "secrets.values.kafkaSaslJaasConfig", "jaas")));
    assertThat(created).filteredOn(o -> "Secret".equals(o.get("kind"))).singleElement()
        .satisfies(secret -> assertThat(secret.toString()).contains("kafkaSaslJaasConfig=jaas"));
  }

  @Test
  void apiKeysAreOnByDefaultFromAMountedSecret() {
    List<Map<String, Object>> on = RenderedManifests.objects(RenderedManifests.render(CHART, Map.of()));
    V1Container api = container(on, "producer-api");
    assertThat(api.getEnv()).anySatisfy(env -> {
      assertThat(env.getName()).isEqualTo(ApiSettings.API_KEYS_FILE_ENV);
      assertThat(env.getValue()).isEqualTo("/etc/inferpipe/api-keys/keys.json");
    });
    assertThat(api.getVolumeMounts()).anySatisfy(m ->
        assertThat(m.getMountPath()).isEqualTo("/etc/inferpipe/api-keys"));
    List<Map<String, Object>> off = RenderedManifests.objects(
        RenderedManifests.render(CHART, Map.of("auth.enabled", false)));
    assertThat(container(off, "producer-api").getEnv())
        .noneMatch(env -> env.getName().equals(ApiSettings.API_KEYS_FILE_ENV));
  }

  @Test
  void ingressRoutesTheApiWithTls() {
    List<Map<String, Object>> objects = RenderedManifests.objects(RenderedManifests.render(CHART,
        Map.of("producerApi.ingress.enabled", true, "producerApi.ingress.tlsSecret", "api-tls")));
    V1Ingress ingress = objects.stream().filter(o -> "Ingress".equals(o.get("kind")))
        .map(o -> RenderedManifests.as(o, V1Ingress.class)).findFirst().orElseThrow();
    assertThat(ingress.getSpec().getRules().get(0).getHost()).isEqualTo("inferpipe.example.com");
    assertThat(ingress.getSpec().getTls().get(0).getSecretName()).isEqualTo("api-tls");
  }

  @Test
  void valuesSchemaRejectsAMisspelledOrMistypedValue() {
    assertThatThrownBy(() -> RenderedManifests.render(CHART, Map.of("gpuConsumer.device", "tpu")))
        .hasMessageContaining("device");
    assertThatThrownBy(() -> RenderedManifests.render(CHART, Map.of("gpuConsumer.gpuz", 2)))
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

}
