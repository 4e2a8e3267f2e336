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
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;

/**
 * Creates the pipeline's topics if they are missing: requests with enough partitions for several
 * consumers, status compacted (it is a table keyed by job id) with a retention, outputs and the
 * DLQ. Existing topics are left as they are.
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
    List<NewTopic> wanted = List.of(
        new NewTopic(topics.requests(), requestPartitions, replicationFactor),
        new NewTopic(topics.outputs(), requestPartitions, replicationFactor),
        new NewTopic(topics.status(), requestPartitions, replicationFactor).configs(Map.of(
            TopicConfig.CLEANUP_POLICY_CONFIG,
            TopicConfig.CLEANUP_POLICY_COMPACT + "," + TopicConfig.CLEANUP_POLICY_DELETE,
            TopicConfig.RETENTION_MS_CONFIG, Long.toString(STATUS_RETENTION.toMillis()),
            TopicConfig.MIN_COMPACTION_LAG_MS_CONFIG, "60000")),
        new NewTopic(topics.dlq(), 1, replicationFactor));
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
    } catch (ExecutionException e) {
      if (!(e.getCause() instanceof TopicExistsException)) {
        throw new IllegalStateException("cannot create topics", e.getCause());
      }
    } catch (TimeoutException e) {
      throw new IllegalStateException("Kafka did not answer within 30 s while creating topics", e);
    }
  }
}
