package dev.inferpipe.core.config;

import java.security.SecureRandom;
import java.util.Base64;
import java.util.Map;

/**
 * The deployment's two secret keys, each at least 32 random bytes given as base64.
 *
 * @param signingKey HMAC key producer-api signs its request records with and gpu-consumer
 *     verifies them with: the only way a record's {@code tenant} is believed
 * @param hashKey HMAC key for {@code prompt_hash} and the request fingerprint: keyed, so a
 *     low-entropy prompt cannot be recovered from its hash by guessing
 */
public record DeploymentKeys(byte[] signingKey, byte[] hashKey) {
  public static final String SIGNING_KEY_ENV = "INFERPIPE_SIGNING_KEY";
  public static final String HASH_KEY_ENV = "INFERPIPE_HASH_KEY";
  public static final int MIN_KEY_BYTES = 32;

  /** Both keys are required: a service that cannot sign or verify must not start. */
  public static DeploymentKeys from(Env env) {
    return new DeploymentKeys(key(env, SIGNING_KEY_ENV), key(env, HASH_KEY_ENV));
  }

  /** Fresh random keys as environment variables: what the local stack and tests run with. */
  public static Map<String, String> randomEnv() {
    SecureRandom random = new SecureRandom();
    return Map.of(SIGNING_KEY_ENV, randomKey(random), HASH_KEY_ENV, randomKey(random));
  }

  private static String randomKey(SecureRandom random) {
    byte[] key = new byte[MIN_KEY_BYTES];
    random.nextBytes(key);
    return Base64.getEncoder().encodeToString(key);
  }

  private static byte[] key(Env env, String name) {
    String value = env.get(name).orElseThrow(() -> new IllegalStateException(name
        + " is required: a base64 key of at least " + MIN_KEY_BYTES
        + " bytes (openssl rand -base64 32), from a Secret"));
    byte[] key;
    try {
      key = Base64.getDecoder().decode(value.trim());
    } catch (IllegalArgumentException e) {
      throw new IllegalStateException(name + " is not valid base64", e);
    }
    if (key.length < MIN_KEY_BYTES) {
      throw new IllegalStateException(name + " decodes to " + key.length + " bytes; at least "
          + MIN_KEY_BYTES + " are required");
    }
    return key;
  }

  @Override
  public String toString() {
    return "DeploymentKeys[hidden]";
  }
}
