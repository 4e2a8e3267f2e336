package dev.inferpipe.core.kafka;

import java.time.Duration;
import java.time.Instant;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * A request record's key and headers, parsed once at the edge into typed values. Parsing never
 * throws: a header that is repeated, oversized, not UTF-8 or out of range is either ignored (the
 * enqueue time falls back to the record timestamp, then to the poll time) or makes the record
 * {@link Forged} (a signature that does not verify). Only a verified record's tenant and request
 * hash are believed; every other record is {@link Direct}.
 *
 * @param key the record key as sent (may be null or anything)
 * @param enqueuedAt where queue.wait starts, never after {@code takenAt}
 * @param enqueuedAtSource {@code header}, {@code record_timestamp} or {@code poll_time}
 * @param origin who wrote the record, as far as the signature tells
 */
public record RequestRecord(String key, Instant enqueuedAt, String enqueuedAtSource,
    Origin origin) {
  /** Clocks of producers and consumers may disagree by this much; later times are refused. */
  public static final Duration MAX_CLOCK_SKEW = Duration.ofMinutes(5);
  private static final Pattern HASH = Pattern.compile("[0-9a-f]{64}");

  /** Who wrote a request record. */
  public sealed interface Origin permits Api, Direct, Forged {}

  /** Signed by producer-api: tenant (null without API keys) and request hash are authentic. */
  public record Api(String tenant, String requestHash, String keyId) implements Origin {
    public Api(String tenant, String requestHash) {
      this(tenant, requestHash, null);
    }
  }

  /** No signature: some other Kafka client published it; its tenant comes from configuration. */
  public record Direct() implements Origin {}

  /** A signature is present but does not verify: refused, never run. */
  public record Forged(String reason) implements Origin {}

  public static RequestRecord parse(ConsumerRecord<String, byte[]> record, RecordSigner signer,
      Instant takenAt) {
    Origin origin = origin(record, signer);
    Instant latest = takenAt.plus(MAX_CLOCK_SKEW);
    if (HeaderNames.strict(record.headers(), HeaderNames.ENQUEUED_AT_MS)
        instanceof HeaderNames.Present p) {
      Instant header = epochMillis(p.text(), latest);
      if (header != null) {
        return new RequestRecord(record.key(), min(header, takenAt), "header", origin);
      }
    }
    if (record.timestamp() > 0 && record.timestamp() <= latest.toEpochMilli()) {
      return new RequestRecord(record.key(), min(Instant.ofEpochMilli(record.timestamp()), takenAt),
          "record_timestamp", origin);
    }
    return new RequestRecord(record.key(), takenAt, "poll_time", origin);
  }

  /** The tenant a job from this record runs as; {@code directTenant} for unsigned records. */
  public String tenant(String directTenant) {
    return origin instanceof Api api ? api.tenant() : directTenant;
  }

  private static Origin origin(ConsumerRecord<String, byte[]> record, RecordSigner signer) {
    HeaderNames.Value signature = HeaderNames.strict(record.headers(), HeaderNames.SIGNATURE);
    if (signature instanceof HeaderNames.Absent) {
      return new Direct(); // a tenant or hash header without a signature is not read at all
    }
    if (signature instanceof HeaderNames.Malformed m) {
      return new Forged(m.reason());
    }
    HeaderNames.Value tenant = HeaderNames.strict(record.headers(), HeaderNames.TENANT);
    HeaderNames.Value keyId = HeaderNames.strict(record.headers(), HeaderNames.API_KEY_ID);
    if (keyId instanceof HeaderNames.Malformed m) {
      return new Forged(m.reason());
    }
    HeaderNames.Value hash = HeaderNames.strict(record.headers(), HeaderNames.REQUEST_SHA256);
    if (tenant instanceof HeaderNames.Malformed m) {
      return new Forged(m.reason());
    }
    if (!(hash instanceof HeaderNames.Present h) || !HASH.matcher(h.text()).matches()) {
      return new Forged("a signed record needs one request-sha256 header of 64 hex characters");
    }
    String tenantText = tenant instanceof HeaderNames.Present t ? t.text() : null;
    String signatureText = ((HeaderNames.Present) signature).text();
    String keyIdText = keyId instanceof HeaderNames.Present k ? k.text() : null;
    if (!signer.verify(signatureText, record.key(), h.text(), tenantText, keyIdText,
        record.value())) {
      return new Forged("the record's signature does not verify");
    }
    return new Api(tenantText, h.text(), keyIdText);
  }

  private static Instant epochMillis(String text, Instant latest) {
    try {
      long millis = Long.parseLong(text.trim());
      return millis > 0 && millis <= latest.toEpochMilli() ? Instant.ofEpochMilli(millis) : null;
    } catch (NumberFormatException e) {
      return null; // garbage, or beyond a long
    }
  }

  private static Instant min(Instant a, Instant b) {
    return a.isBefore(b) ? a : b;
  }
}
