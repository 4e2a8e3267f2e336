package dev.inferpipe.embedded;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A throwaway key pair for {@code localhost} and a truststore holding its certificate, made with
 * the JDK's own {@code keytool}, for tests of TLS listeners. Passwords are random per instance.
 *
 * @param keystore PKCS12 store with the server's key pair
 * @param truststore PKCS12 store with the server's certificate, for clients
 */
public record SelfSignedTls(Path keystore, String keystorePassword, Path truststore,
    String truststorePassword) {

  public static SelfSignedTls generate(Path dir) throws IOException, InterruptedException {
    Files.createDirectories(dir);
    SelfSignedTls tls = new SelfSignedTls(dir.resolve("server.p12"), randomSecret(),
        dir.resolve("truststore.p12"), randomSecret());
    Path certificate = dir.resolve("server.pem");
    keytool("-genkeypair", "-alias", "server", "-keyalg", "RSA", "-keysize", "2048",
        "-dname", "CN=localhost", "-ext", "SAN=dns:localhost,ip:127.0.0.1", "-validity", "2",
        "-storetype", "PKCS12", "-keystore", tls.keystore.toString(),
        "-storepass", tls.keystorePassword, "-keypass", tls.keystorePassword);
    keytool("-exportcert", "-rfc", "-alias", "server", "-keystore", tls.keystore.toString(),
        "-storepass", tls.keystorePassword, "-file", certificate.toString());
    keytool("-importcert", "-noprompt", "-alias", "server", "-file", certificate.toString(),
        "-storetype", "PKCS12", "-keystore", tls.truststore.toString(),
        "-storepass", tls.truststorePassword);
    return tls;
  }

  private static String randomSecret() {
    byte[] bytes = new byte[12];
    new SecureRandom().nextBytes(bytes);
    return HexFormat.of().formatHex(bytes);
  }

  private static void keytool(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes());
    if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
      throw new IOException("keytool " + args[0] + " failed: " + output);
    }
  }
}
