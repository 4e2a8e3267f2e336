package dev.inferpipe.core.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.inferpipe.core.config.KafkaSettings;
import dev.inferpipe.core.config.Topics;
import dev.inferpipe.core.job.ErrorCode;
import dev.inferpipe.core.job.JobCodec;
import dev.inferpipe.embedded.EmbeddedKafka;
import dev.inferpipe.embedded.TopicReader;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.api.OpenTelemetry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Sends that Kafka refuses for good are never retried forever; a DLQ copy always fits. */
class AckedSenderIT {
  private final JobCodec codec = new JobCodec();

  @Test
  void aDeadLetterThatCannotFitWholeGoesAsABoundedCopyAndATooLargeRecordIsRejected(
      @TempDir Path dir) throws Exception {
    // A DLQ created by hand with the broker's 1 MiB default, as an operator might.
    Topics topics = new Topics("req", "out", "status", "dlq", "webhooks");
    try (EmbeddedKafka kafka = EmbeddedKafka.create(dir, 0).start();
        Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
      admin.createTopics(List.of(new NewTopic("dlq", 1, (short) 1).configs(Map.of(
          TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(1024 * 1024)))))
          .all().get(30, TimeUnit.SECONDS);
      KafkaClients clients = new KafkaClients(KafkaSettings.plaintext(kafka.bootstrapServers()),
          "sender-test", OpenTelemetry.noop(), new SimpleMeterRegistry());
      try (Producer<String, byte[]> producer = clients.producer("test", Map.of(
          ProducerConfig.MAX_REQUEST_SIZE_CONFIG, RecordLimits.MAX_RECORD_BYTES,
          ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 10_000,
          ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 5_000))) {
        AckedSender sender = new AckedSender(producer, topics, codec, (s, w) -> { });
        // Just under the 1 MiB topic's limit as a request; its DLQ copy (extra headers) is not.
        byte[] value = new byte[1_048_500];
        Arrays.fill(value, (byte) 'x');
        RecordHeaders headers = new RecordHeaders();
        headers.add("enqueued-at-ms", "-9223372036854775808".getBytes());
        ConsumerRecord<String, byte[]> source = new ConsumerRecord<>("req", 3, 42, 0L,
            TimestampType.CREATE_TIME, -1, -1, "job-big", value, headers, Optional.empty());
        sender.deadLetter(source, ErrorCode.INVALID_JOB, "too big for the DLQ topic");

        ConsumerRecord<String, byte[]> dead = TopicReader.awaitKey(kafka.bootstrapServers(), "dlq",
            "job-big", 1, Duration.ofSeconds(30)).get(0);
        assertThat(dead.value().length).isEqualTo(RecordLimits.DLQ_VALUE_PREFIX_BYTES);
        assertThat(HeaderNames.get(dead.headers(), HeaderNames.DLQ_VALUE_TRUNCATED)).contains("true");
        assertThat(HeaderNames.get(dead.headers(), HeaderNames.DLQ_ORIGINAL_VALUE_BYTES))
            .contains("1048500");
        assertThat(HeaderNames.get(dead.headers(), HeaderNames.DLQ_ORIGINAL_VALUE_SHA256))
            .hasValueSatisfying(h -> assertThat(h).hasSize(64));
        assertThat(HeaderNames.get(dead.headers(), HeaderNames.ERROR_CODE)).contains("INVALID_JOB");
        assertThat(HeaderNames.get(dead.headers(), HeaderNames.DLQ_SOURCE_OFFSET)).contains("42");
        assertThat(HeaderNames.get(dead.headers(), "enqueued-at-ms"))
            .contains("-9223372036854775808");

        // Straight onto the 1 MiB topic: refused for good, not a transient failure to retry.
        assertThatThrownBy(() -> sender.send(new ProducerRecord<>("dlq", "job-big", value)))
            .isInstanceOf(SendRejectedException.class);
      }
      clients.close();

      // The provisioner raises such a topic to the pipeline's limit.
      TopicProvisioner.ensureTopics(admin, topics, 1, (short) 1);
      ConfigResource dlq = new ConfigResource(ConfigResource.Type.TOPIC, "dlq");
      String limit = "";
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (!limit.equals(Integer.toString(RecordLimits.MAX_RECORD_BYTES))
          && System.nanoTime() < deadline) {
        Thread.sleep(100); // a config change reaches every broker through the metadata log
        limit = admin.describeConfigs(List.of(dlq)).all().get(30, TimeUnit.SECONDS).get(dlq)
            .get(TopicConfig.MAX_MESSAGE_BYTES_CONFIG).value();
      }
      assertThat(limit).isEqualTo(Integer.toString(RecordLimits.MAX_RECORD_BYTES));
    }
  }
}
