package dev.inferpipe.api;

import dev.inferpipe.core.config.Env;
import dev.inferpipe.core.telemetry.Logging;
import dev.inferpipe.core.telemetry.Telemetry;
import java.util.concurrent.CountDownLatch;

/** Runs producer-api as its own process (one container in Kubernetes). */
public final class ProducerApiMain {
  private ProducerApiMain() {}

  public static void main(String[] args) throws InterruptedException {
    Env env = Env.system();
    Telemetry telemetry = Telemetry.builder(ProducerApi.SERVICE_NAME).env(env).build();
    Logging.configure(env, ProducerApi.SERVICE_NAME, telemetry.instanceId());
    ProducerApi api = ProducerApi.start(env, telemetry);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      api.close();
      telemetry.close();
      stopped.countDown();
    }, "shutdown"));
    stopped.await();
  }
}
