package dev.inferpipe.consumer;

import dev.inferpipe.core.config.Env;
import dev.inferpipe.core.telemetry.Logging;
import dev.inferpipe.core.telemetry.Telemetry;
import java.util.concurrent.CountDownLatch;

/** Runs gpu-consumer as its own process (one GPU pod in Kubernetes). */
public final class GpuConsumerMain {
  private GpuConsumerMain() {}

  public static void main(String[] args) throws InterruptedException {
    System.setProperty("ai.djl.offline", "true");
    Env env = Env.system();
    Telemetry telemetry = Telemetry.builder(GpuConsumer.SERVICE_NAME).env(env).build();
    Logging.configure(env, GpuConsumer.SERVICE_NAME, telemetry.instanceId());
    GpuConsumer consumer = GpuConsumer.start(env, telemetry);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      consumer.close();
      telemetry.close();
      stopped.countDown();
    }, "shutdown"));
    stopped.await();
  }
}
