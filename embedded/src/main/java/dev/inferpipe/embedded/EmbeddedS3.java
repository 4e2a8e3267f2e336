package dev.inferpipe.embedded;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.blobstore.BlobStore;
import org.gaul.s3proxy.blobstore.ForwardingBlobStore;
import org.gaul.s3proxy.nio2blob.FilesystemNio2BlobStore;
import org.gaul.s3proxy.nio2blob.TransientNio2BlobStore;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.BucketAlreadyOwnedByYouException;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.PutObjectResponse;

/**
 * A real S3-compatible HTTP server (S3Proxy) in this JVM, storing objects in a directory (or in
 * memory). Requests are SigV4-authenticated with fixed local credentials, exactly as AWS S3 would
 * check them.
 */
public final class EmbeddedS3 implements AutoCloseable {
  public static final String ACCESS_KEY = "inferpipe-local";
  public static final String SECRET_KEY = "inferpipe-local-secret";
  public static final String REGION = "us-east-1";

  /** Told of every object stored, before S3 answers the PUT: where tests inject faults. */
  @FunctionalInterface
  public interface PutListener {
    void stored(String bucket, String key);
  }

  private final Optional<Path> dataDir;
  private final int port;
  private volatile PutListener putListener = (bucket, key) -> { };
  private S3Proxy proxy;

  private EmbeddedS3(Optional<Path> dataDir, int port) {
    this.dataDir = dataDir;
    this.port = port;
  }

  /** Objects stored as files under {@code dataDir}; they survive restarts. */
  public static EmbeddedS3 onDisk(Path dataDir, int port) {
    return new EmbeddedS3(Optional.of(dataDir), port == 0 ? EmbeddedKafka.freePort() : port);
  }

  /** Objects kept in memory: for tests. */
  public static EmbeddedS3 inMemory() {
    return new EmbeddedS3(Optional.empty(), EmbeddedKafka.freePort());
  }

  /** Replaces the listener told of stored objects (also while running). */
  public EmbeddedS3 onPut(PutListener listener) {
    this.putListener = listener;
    return this;
  }

  public synchronized EmbeddedS3 start() {
    if (proxy != null) {
      return this;
    }
    try {
      BlobStore store;
      if (dataDir.isPresent()) {
        Files.createDirectories(dataDir.get());
        store = new FilesystemNio2BlobStore(dataDir.get().toAbsolutePath().toString());
      } else {
        store = new TransientNio2BlobStore();
      }
      store = new ForwardingBlobStore(store) {
        @Override
        public PutObjectResponse putBlob(PutObjectRequest request, InputStream content) {
          PutObjectResponse stored = super.putBlob(request, content);
          putListener.stored(request.bucket(), request.key());
          return stored;
        }
      };
      S3Proxy started = S3Proxy.builder()
          .blobStore(store)
          .endpoint(URI.create("http://127.0.0.1:" + port))
          .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
          .build();
      started.start();
      while (!"STARTED".equals(started.getState())) {
        Thread.sleep(10);
      }
      proxy = started;
      return this;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (Exception e) {
      throw new IllegalStateException("embedded S3 failed to start on port " + port, e);
    }
  }

  public URI endpoint() {
    return URI.create("http://127.0.0.1:" + port);
  }

  public int port() {
    return port;
  }

  /**
   * The environment that points a service's S3 client at this server (endpoint, path-style
   * addressing, region, the local credentials); the bucket is the caller's to name.
   */
  public Map<String, String> clientEnv() {
    return Map.of(
        "INFERPIPE_S3_ENDPOINT", endpoint().toString(),
        "INFERPIPE_S3_PATH_STYLE", "true",
        "INFERPIPE_S3_REGION", REGION,
        "AWS_ACCESS_KEY_ID", ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY", SECRET_KEY);
  }

  /** A path-style client with the local credentials. */
  public S3Client client() {
    return S3Client.builder()
        .endpointOverride(endpoint())
        .forcePathStyle(true)
        .region(Region.of(REGION))
        .credentialsProvider(StaticCredentialsProvider.create(
            AwsBasicCredentials.create(ACCESS_KEY, SECRET_KEY)))
        .build();
  }

  /** Creates {@code bucket} unless it exists. */
  public void createBucket(String bucket) {
    try (S3Client s3 = client()) {
      s3.createBucket(b -> b.bucket(bucket));
    } catch (BucketAlreadyOwnedByYouException e) {
      // Already there from an earlier run: nothing to do.
    }
  }

  public synchronized void stop() {
    if (proxy != null) {
      try {
        proxy.stop();
      } catch (Exception e) {
        throw new IllegalStateException("embedded S3 failed to stop", e);
      }
      proxy = null;
    }
  }

  @Override
  public void close() {
    stop();
  }
}
