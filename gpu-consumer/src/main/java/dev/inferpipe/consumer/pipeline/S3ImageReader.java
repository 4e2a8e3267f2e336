package dev.inferpipe.consumer.pipeline;

import dev.inferpipe.core.job.ErrorCode;
import dev.inferpipe.core.job.JobValidator;
import dev.inferpipe.core.s3.S3Uri;
import io.opentelemetry.api.trace.Span;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * Reads a VQA job's {@code s3://} image with the consumer's own credentials, so only from the
 * allow-listed prefixes ({@code INFERPIPE_VQA_IMAGE_PREFIXES}); an entry's {@code {tenant}} is the
 * job's tenant, which keeps tenants out of each other's inputs (and everyone out of
 * {@code outputs/}). The size is checked with HeadObject before any byte is downloaded, and the
 * download is pinned to that object version (ETag) and range. A key outside the list, a missing
 * or forbidden object and one that is not a PNG or JPEG all get the same answer, so the error
 * does not tell whether an object exists.
 */
public final class S3ImageReader {
  /** What a job reads: the image bytes, or a {@link JobFailedException}. */
  public interface Source {
    byte[] read(S3Uri uri, String tenant);
  }

  /** {@code s3://bucket/} or {@code s3://bucket/some/prefix/}. */
  private static final Pattern PREFIX = Pattern.compile("s3://([a-z0-9][a-z0-9.-]{1,62})/(.*/)?");
  private static final Pattern UNSAFE_KEY =
      Pattern.compile("(^|/)\\.{1,2}(/|$)|//|\\\\|\\p{Cntrl}");

  private final S3Client s3;
  private final List<String> prefixes;

  /** @param prefixes {@code s3://bucket/prefix/} entries, optionally with {@code {tenant}} */
  public S3ImageReader(S3Client s3, List<String> prefixes) {
    this.s3 = s3;
    this.prefixes = List.copyOf(prefixes);
    for (String prefix : prefixes) {
      if (!PREFIX.matcher(prefix).matches()) {
        throw new IllegalArgumentException("VQA image prefix '" + prefix
            + "' must look like s3://bucket/prefix/ (ending in /)");
      }
    }
  }

  /** The one error for every image that cannot be used, whatever the reason. */
  public static JobFailedException notAvailable(S3Uri uri) {
    return new JobFailedException(ErrorCode.INVALID_IMAGE, "image " + uri
        + " is not available: it is outside the allowed prefixes, missing, not readable,"
        + " or not a PNG or JPEG");
  }

  boolean allows(S3Uri uri, String tenant) {
    if (UNSAFE_KEY.matcher(uri.key()).find()) {
      return false;
    }
    for (String entry : prefixes) {
      if (entry.contains("{tenant}") && (tenant == null || !tenant.matches("[A-Za-z0-9_.-]+"))) {
        continue;
      }
      var prefix = PREFIX.matcher(entry.replace("{tenant}", tenant == null ? "" : tenant));
      if (prefix.matches() && prefix.group(1).equals(uri.bucket())
          && uri.key().startsWith(prefix.group(2) == null ? "" : prefix.group(2))) {
        return true;
      }
    }
    return false;
  }

  public byte[] read(S3Uri uri, String tenant) {
    if (!allows(uri, tenant)) {
      throw notAvailable(uri);
    }
    HeadObjectResponse head;
    try {
      head = s3.headObject(b -> b.bucket(uri.bucket()).key(uri.key()));
    } catch (S3Exception e) {
      throw e.statusCode() < 500 && e.statusCode() != 429 ? notAvailable(uri) : unavailable(uri, e);
    } catch (SdkException e) {
      throw unavailable(uri, e);
    }
    long size = Optional.ofNullable(head.contentLength()).orElse(-1L);
    if (size < 0 || size > JobValidator.MAX_IMAGE_BYTES) {
      throw new JobFailedException(ErrorCode.INVALID_IMAGE, "image " + uri + " is " + size
          + " bytes; the limit is " + JobValidator.MAX_IMAGE_BYTES);
    }
    try {
      // The same version HeadObject measured, and never more than it said.
      byte[] bytes = s3.getObjectAsBytes(b -> b.bucket(uri.bucket()).key(uri.key())
          .ifMatch(head.eTag()).range("bytes=0-" + Math.max(0, size - 1))).asByteArray();
      if (bytes.length > JobValidator.MAX_IMAGE_BYTES) {
        throw notAvailable(uri);
      }
      return bytes;
    } catch (S3Exception e) {
      throw e.statusCode() < 500 && e.statusCode() != 429 ? notAvailable(uri) : unavailable(uri, e);
    } catch (SdkException e) {
      throw unavailable(uri, e);
    }
  }

  /** S3 down or throttling past the SDK's own retries: not the job's fault, and said so. */
  private static JobFailedException unavailable(S3Uri uri, SdkException e) {
    int attempts = e.numAttempts() == null ? 1 : e.numAttempts();
    Span.current().setAttribute("s3.attempts", (long) attempts);
    return new JobFailedException(ErrorCode.UNAVAILABLE, "S3 did not serve " + uri + " after "
        + attempts + " attempts: " + e.getMessage(), e);
  }
}
