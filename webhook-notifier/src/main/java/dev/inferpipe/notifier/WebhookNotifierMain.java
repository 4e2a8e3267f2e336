package dev.inferpipe.notifier;

import dev.inferpipe.core.config.Env;
import dev.inferpipe.core.telemetry.Logging;
import dev.inferpipe.core.telemetry.Telemetry;
import java.util.concurrent.CountDownLatch;

/** Runs webhook-notifier as its own process. */
public final class WebhookNotifierMain {
  private WebhookNotifierMain() {}

  public static void main(String[] args) throws InterruptedException {
    Env env = Env.system();
    Telemetry telemetry = Telemetry.builder(WebhookNotifier.SERVICE_NAME).env(env).build();
    Logging.configure(env, WebhookNotifier.SERVICE_NAME, telemetry.instanceId());
    WebhookNotifier notifier = WebhookNotifier.start(env, telemetry);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      notifier.close();
      telemetry.close();
      stopped.countDown();
    }, "shutdown"));
    stopped.await();
  }
}
