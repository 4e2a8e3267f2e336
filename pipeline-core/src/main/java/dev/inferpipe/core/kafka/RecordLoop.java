package dev.inferpipe.core.kafka;

import dev.inferpipe.core.telemetry.Logging;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A worker service's poll loop on its own thread: subscribe, hand each record to the handler,
 * commit that record's offset once the handler returned (at-least-once). {@link #close} lets the
 * record in hand finish, then leaves the group.
 */
public final class RecordLoop implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RecordLoop.class);

  /** Handles one record; returning means everything it produced was acknowledged. */
  public interface Handler {
    void handle(ConsumerRecord<String, byte[]> record) throws InterruptedException;
  }

  private final String service;
  private final Consumer<String, byte[]> consumer;
  private final String topic;
  private final Runnable beforeSubscribe;
  private final Handler handler;
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final Thread thread;
  private volatile boolean subscribed;

  /**
   * @param beforeSubscribe runs on the loop's thread first (e.g. preloading models), so a
   *     replica joins the group only when it can take work
   */
  public RecordLoop(String service, Consumer<String, byte[]> consumer, String topic,
      Runnable beforeSubscribe, Handler handler) {
    this.service = service;
    this.consumer = consumer;
    this.topic = topic;
    this.beforeSubscribe = beforeSubscribe;
    this.handler = handler;
    this.thread = new Thread(this::run, service + "-loop");
  }

  public void start() {
    thread.start();
  }

  /** Subscribed and not stopped: the service can take work. */
  public boolean isReady() {
    return subscribed && running.get();
  }

  private void run() {
    Logging.tagThread(service);
    try {
      beforeSubscribe.run();
      consumer.subscribe(List.of(topic));
      subscribed = true;
      while (running.get()) {
        for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(500))) {
          handler.handle(record);
          consumer.commitSync(Map.of(new TopicPartition(record.topic(), record.partition()),
              new OffsetAndMetadata(record.offset() + 1)));
        }
      }
    } catch (WakeupException e) {
      // close() asked the loop to stop.
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      log.atError().addKeyValue("event", "loop.failed").setCause(e).log("{} poll loop stopped", service);
    } finally {
      running.set(false);
      consumer.close(Duration.ofSeconds(5));
    }
  }

  @Override
  public void close() {
    running.set(false);
    consumer.wakeup();
    try {
      thread.join(Duration.ofMinutes(2).toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
