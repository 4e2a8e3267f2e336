package dev.inferpipe.consumer.pipeline;

import java.awt.image.BufferedImage;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A process that encodes PNGs the way a running txt2img job does until it receives SIGTERM, then
 * (like the services' shutdown hooks, which let the job in hand finish) keeps encoding for a
 * second before it prints {@code ok} or the first failure. Started by {@link GracefulStopTest}.
 */
public final class EncodeUntilStopped {
  private EncodeUntilStopped() {}

  public static void main(String[] args) throws Exception {
    // Large enough that an encoding is almost always in flight when the signal comes.
    BufferedImage image = new BufferedImage(512, 512, BufferedImage.TYPE_INT_RGB);
    for (int i = 0; i < 512; i++) {
      image.setRGB(i, i, 0xff00ff);
      image.setRGB(511 - i, i, 0x00ff00);
    }
    AtomicReference<Throwable> failure = new AtomicReference<>();
    Thread encoder = new Thread(() -> {
      while (failure.get() == null) {
        try {
          Txt2ImgPipeline.png(image);
        } catch (Throwable e) {
          failure.set(e);
        }
      }
    });
    encoder.setDaemon(true);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        Thread.sleep(1000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      System.out.println(failure.get() == null ? "ok" : "failed: " + failure.get());
      System.out.flush();
    }));
    encoder.start();
    System.out.println("encoding");
    System.out.flush();
    Thread.sleep(60_000);
  }
}
