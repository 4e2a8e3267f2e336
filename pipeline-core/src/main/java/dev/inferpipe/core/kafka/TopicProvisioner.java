package dev.inferpipe.core.kafka;

import dev.inferpipe.core.config.Topics;
import java.util.ArrayList;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;

/**
 * Creates the pipeline's topics if they are missing: requests with enough partitions for several
 * consumers, status compacted (it is a table keyed by job id) with a retention, outputs, the
 * DLQ, and the webhook deliveries (compacted like status). Every topic accepts records up to {@link RecordLimits#MAX_RECORD_BYTES} (brokers default
 * to 1 MiB, which neither an 8 MiB output nor the DLQ copy of a large request fits); an existing
 * topic with a lower {@code max.message.bytes} is raised to it. Nothing else about existing
 * topics is changed.
 */
public final class TopicProvisioner {
  /**
   * How long a job's status is kept: the status topic is compacted (latest snapshot per job) and
   * deletes snapshots older than this, and every {@link StatusTable} forgets ended jobs as old.
   */
  public static final Duration STATUS_RETENTION = Duration.ofDays(7);

  private TopicProvisioner() {}

  public static void ensureTopics(
      Admin admin, Topics topics, int requestPartitions, short replicationFactor)
      throws InterruptedException {
    String maxBytes = Integer.toString(RecordLimits.MAX_RECORD_BYTES);
    List<NewTopic> wanted = List.of(
        new NewTopic(topics.requests(), requestPartitions, replicationFactor)
            .configs(Map.of(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, maxBytes)),
        new NewTopic(topics.outputs(), requestPartitions, replicationFactor)
            .configs(Map.of(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, maxBytes)),
        new NewTopic(topics.status(), requestPartitions, replicationFactor).configs(Map.of(
            TopicConfig.CLEANUP_POLICY_CONFIG,
            TopicConfig.CLEANUP_POLICY_COMPACT + "," + TopicConfig.CLEANUP_POLICY_DELETE,
            TopicConfig.RETENTION_MS_CONFIG, Long.toString(STATUS_RETENTION.toMillis()),
            TopicConfig.MIN_COMPACTION_LAG_MS_CONFIG, "60000",
            TopicConfig.MAX_MESSAGE_BYTES_CONFIG, maxBytes)),
        new NewTopic(topics.dlq(), 1, replicationFactor)
            .configs(Map.of(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, maxBytes)),
        // One small record per job with a webhook, kept as long as the job's status.
        new NewTopic(topics.webhooks(), requestPartitions, replicationFactor).configs(Map.of(
            TopicConfig.CLEANUP_POLICY_CONFIG,
            TopicConfig.CLEANUP_POLICY_COMPACT + "," + TopicConfig.CLEANUP_POLICY_DELETE,
            TopicConfig.RETENTION_MS_CONFIG, Long.toString(STATUS_RETENTION.toMillis()),
            TopicConfig.MAX_MESSAGE_BYTES_CONFIG, maxBytes)));
    try {
      Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
      List<NewTopic> missing = new ArrayList<>();
      for (NewTopic topic : wanted) {
        if (!existing.contains(topic.name())) {
          missing.add(topic);
        }
      }
      if (!missing.isEmpty()) {
        admin.createTopics(missing).all().get(30, TimeUnit.SECONDS);
      }
      raiseMaxMessageBytes(admin, wanted.stream().map(NewTopic::name)
          .filter(existing::contains).toList());
    } catch (ExecutionException e) {
      if (!(e.getCause() instanceof TopicExistsException)) {
        throw new IllegalStateException("cannot create topics", e.getCause());
      }
    } catch (TimeoutException e) {
      throw new IllegalStateException("Kafka did not answer within 30 s while creating topics", e);
    }
  }

  /** Topics made before the limit was set (or by hand) keep the broker's 1 MiB: raise them. */
  private static void raiseMaxMessageBytes(Admin admin, List<String> names)
      throws InterruptedException, ExecutionException, TimeoutException {
    if (names.isEmpty()) {
      return;
    }
    List<ConfigResource> resources = names.stream()
        .map(n -> new ConfigResource(ConfigResource.Type.TOPIC, n)).toList();
    Map<ConfigResource, Config> configs = admin.describeConfigs(resources).all()
        .get(30, TimeUnit.SECONDS);
    Map<ConfigResource, java.util.Collection<AlterConfigOp>> raise = new java.util.HashMap<>();
    configs.forEach((resource, config) -> {
      ConfigEntry entry = config.get(TopicConfig.MAX_MESSAGE_BYTES_CONFIG);
      if (entry == null || Long.parseLong(entry.value()) < RecordLimits.MAX_RECORD_BYTES) {
        raise.put(resource, List.of(new AlterConfigOp(new ConfigEntry(
            TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(RecordLimits.MAX_RECORD_BYTES)),
            AlterConfigOp.OpType.SET)));
      }
    });
    if (!raise.isEmpty()) {
      admin.incrementalAlterConfigs(raise).all().get(30, TimeUnit.SECONDS);
    }
  }
}
