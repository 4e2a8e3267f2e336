package dev.inferpipe.sink;

import dev.inferpipe.core.config.Env;
import dev.inferpipe.core.telemetry.Logging;
import dev.inferpipe.core.telemetry.Telemetry;
import java.util.concurrent.CountDownLatch;

/** Runs storage-sink as its own process. */
public final class StorageSinkMain {
  private StorageSinkMain() {}

  public static void main(String[] args) throws InterruptedException {
    Env env = Env.system();
    Telemetry telemetry = Telemetry.builder(StorageSink.SERVICE_NAME).env(env).build();
    Logging.configure(env, StorageSink.SERVICE_NAME, telemetry.instanceId());
    StorageSink sink = StorageSink.start(env, telemetry);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      sink.close();
      telemetry.close();
      stopped.countDown();
    }, "shutdown"));
    stopped.await();
  }
}
