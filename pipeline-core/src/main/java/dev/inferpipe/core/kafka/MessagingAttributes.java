package dev.inferpipe.core.kafka;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.SpanBuilder;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * OpenTelemetry messaging attributes for a consumed Kafka record (semantic conventions for
 * messaging; still incubating upstream, so spelled out here).
 */
public final class MessagingAttributes {
  public static final AttributeKey<String> SYSTEM = AttributeKey.stringKey("messaging.system");
  public static final AttributeKey<String> DESTINATION = AttributeKey.stringKey("messaging.destination.name");
  public static final AttributeKey<String> OPERATION_TYPE = AttributeKey.stringKey("messaging.operation.type");
  public static final AttributeKey<String> OPERATION_NAME = AttributeKey.stringKey("messaging.operation.name");
  public static final AttributeKey<String> CONSUMER_GROUP = AttributeKey.stringKey("messaging.consumer.group.name");
  public static final AttributeKey<String> PARTITION = AttributeKey.stringKey("messaging.destination.partition.id");
  public static final AttributeKey<Long> OFFSET = AttributeKey.longKey("messaging.kafka.offset");
  public static final AttributeKey<String> MESSAGE_KEY = AttributeKey.stringKey("messaging.kafka.message.key");
  public static final AttributeKey<Long> BODY_SIZE = AttributeKey.longKey("messaging.message.body.size");

  private MessagingAttributes() {}

  public static SpanBuilder process(SpanBuilder builder, ConsumerRecord<String, byte[]> record,
      String consumerGroup) {
    builder.setAttribute(SYSTEM, "kafka")
        .setAttribute(DESTINATION, record.topic())
        .setAttribute(OPERATION_TYPE, "process")
        .setAttribute(OPERATION_NAME, "process")
        .setAttribute(CONSUMER_GROUP, consumerGroup)
        .setAttribute(PARTITION, Integer.toString(record.partition()))
        .setAttribute(OFFSET, record.offset());
    if (record.key() != null) {
      builder.setAttribute(MESSAGE_KEY, record.key());
    }
    if (record.value() != null) {
      builder.setAttribute(BODY_SIZE, (long) record.value().length);
    }
    return builder;
  }
}
