package dev.inferpipe.consumer.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.pytorch.jni.JniUtils;
import dev.inferpipe.consumer.ConsumerSettings;
import dev.inferpipe.core.config.DeploymentKeys;
import dev.inferpipe.core.config.Env;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PlacementTest {
  @Test
  void torchThreadsComeFromTheEnvironmentAndDefaultToLibtorchsOwn() {
    Map<String, String> keys = DeploymentKeys.randomEnv();
    assertThat(ConsumerSettings.from(Env.of(keys)).torchThreads()).isZero();
    Map<String, String> one = new HashMap<>(keys);
    one.put("INFERPIPE_TORCH_THREADS", "1");
    assertThat(ConsumerSettings.from(Env.of(one)).torchThreads()).isEqualTo(1);
    assertThatThrownBy(() -> new Placement(Device.cpu(), 1, -1))
        .hasMessageContaining("torch threads must be >= 0");
  }

  @Test
  void applyingTorchThreadsSetsLibtorchsPoolAndZeroLeavesIt() {
    ai.djl.engine.Engine.getEngine("PyTorch");
    int before = JniUtils.getNumThreads();
    int other = before == 1 ? 2 : 1;
    try {
      new Placement(Device.cpu(), 1, other).applyTorchThreads();
      assertThat(JniUtils.getNumThreads()).isEqualTo(other);
      new Placement(Device.cpu(), 1, 0).applyTorchThreads();
      assertThat(JniUtils.getNumThreads()).isEqualTo(other);
    } finally {
      JniUtils.setNumThreads(before);
    }
    assertThat(JniUtils.getNumThreads()).isEqualTo(before);
  }
}
