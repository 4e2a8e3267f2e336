package dev.inferpipe.deploy;

import com.google.gson.Gson;
import com.google.gson.JsonElement;
import com.marcnuri.helm.Helm;
import io.kubernetes.client.openapi.JSON;
import io.kubernetes.client.openapi.models.V1ConfigMap;
import io.kubernetes.client.openapi.models.V1Deployment;
import io.kubernetes.client.openapi.models.V1Ingress;
import io.kubernetes.client.openapi.models.V1NetworkPolicy;
import io.kubernetes.client.openapi.models.V1PodDisruptionBudget;
import io.kubernetes.client.openapi.models.V1Secret;
import io.kubernetes.client.openapi.models.V1Service;
import io.kubernetes.client.openapi.models.V1ServiceAccount;
import io.kubernetes.client.openapi.models.V2HorizontalPodAutoscaler;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;

/**
 * Renders a chart with helm (helm-java bundles Helm 3) and checks every object against the
 * Kubernetes model classes of client-java: an unknown field or a wrong type fails with the field's
 * name, as the API server's strict field validation would.
 */
final class RenderedManifests {
  /** Kinds the chart may render that are not in client-java (CRDs), checked by hand instead. */
  static final List<String> CUSTOM_KINDS = List.of("ScaledObject", "ServiceMonitor", "PrometheusRule");

  private static final Gson GSON = new JSON().getGson();

  private RenderedManifests() {}

  static String render(Path chart, Map<String, Object> values) {
    var template = new Helm(chart).template().withName("inferpipe").withNamespace("ml")
        .withKubeVersion("1.30.0");
    values.forEach(template::set);
    return template.call();
  }

  /** One parsed object per YAML document, as plain maps, in render order. */
  @SuppressWarnings("unchecked")
  static List<Map<String, Object>> objects(String rendered) {
    List<Map<String, Object>> objects = new ArrayList<>();
    for (Object document : new Yaml(new LoaderOptions()).loadAll(rendered)) {
      if (document instanceof Map<?, ?> map && !map.isEmpty()) {
        objects.add((Map<String, Object>) map);
      }
    }
    return objects;
  }

  /** Throws, naming the offending field, unless the object is a valid instance of its kind. */
  static void validate(Map<String, Object> object) throws IOException {
    String kind = String.valueOf(object.get("kind"));
    String json = GSON.toJson(object);
    JsonElement element = GSON.fromJson(json, JsonElement.class);
    switch (kind) {
      case "Deployment" -> V1Deployment.validateJsonElement(element);
      case "Service" -> V1Service.validateJsonElement(element);
      case "ServiceAccount" -> V1ServiceAccount.validateJsonElement(element);
      case "PodDisruptionBudget" -> V1PodDisruptionBudget.validateJsonElement(element);
      case "HorizontalPodAutoscaler" -> V2HorizontalPodAutoscaler.validateJsonElement(element);
      case "Ingress" -> V1Ingress.validateJsonElement(element);
      case "NetworkPolicy" -> V1NetworkPolicy.validateJsonElement(element);
      case "Secret" -> V1Secret.validateJsonElement(element);
      case "ConfigMap" -> V1ConfigMap.validateJsonElement(element);
      default -> {
        if (!CUSTOM_KINDS.contains(kind)) {
          throw new IllegalArgumentException("unexpected kind " + kind);
        }
        return;
      }
    }
    // Types: deserialising fails on a string where a number belongs, and so on.
    GSON.fromJson(json, switch (kind) {
      case "Deployment" -> V1Deployment.class;
      case "Service" -> V1Service.class;
      case "ServiceAccount" -> V1ServiceAccount.class;
      case "PodDisruptionBudget" -> V1PodDisruptionBudget.class;
      case "HorizontalPodAutoscaler" -> V2HorizontalPodAutoscaler.class;
      case "Ingress" -> V1Ingress.class;
      case "NetworkPolicy" -> V1NetworkPolicy.class;
      case "ConfigMap" -> V1ConfigMap.class;
      default -> V1Secret.class;
    });
  }

  static <T> T as(Map<String, Object> object, Class<T> type) {
    return GSON.fromJson(GSON.toJson(object), type);
  }
}
