package dev.inferpipe.core.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** Parsing a request record's key and headers never throws, and believes only a valid signature. */
class RequestRecordTest {
  private static final Instant NOW = Instant.parse("2026-12-01T12:00:00Z");
  private static final byte[] BODY = "{\"task\":\"txt2img\"}".getBytes(StandardCharsets.UTF_8);
  private static final String HASH = "a".repeat(64);
  private final RecordSigner signer = new RecordSigner(new byte[32]);

  private static ConsumerRecord<String, byte[]> record(String key, long timestamp,
      RecordHeaders headers, byte[] value) {
    return new ConsumerRecord<>("inference.requests", 0, 7, timestamp, TimestampType.CREATE_TIME,
        -1, -1, key, value, headers, Optional.empty());
  }

  private static RecordHeaders headers(String... namesAndValues) {
    RecordHeaders headers = new RecordHeaders();
    for (int i = 0; i < namesAndValues.length; i += 2) {
      headers.add(namesAndValues[i], namesAndValues[i + 1].getBytes(StandardCharsets.UTF_8));
    }
    return headers;
  }

  @ParameterizedTest
  @ValueSource(strings = {"-9223372036854775808", "9223372036854775807", "99999999999999999999",
      "-1", "0", "garbage", "", " ", "1e9", "NaN"})
  void aHostileEnqueueTimeFallsBackToTheRecordTimestamp(String value) {
    long timestamp = NOW.minusSeconds(3).toEpochMilli();
    RequestRecord parsed = RequestRecord.parse(
        record("job-1", timestamp, headers(HeaderNames.ENQUEUED_AT_MS, value), BODY), signer, NOW);
    assertThat(parsed.enqueuedAtSource()).isEqualTo("record_timestamp");
    assertThat(parsed.enqueuedAt()).isEqualTo(Instant.ofEpochMilli(timestamp));
  }

  @Test
  void aFarFutureOrRepeatedOrNonUtf8EnqueueTimeIsIgnoredToo() {
    long timestamp = NOW.minusSeconds(3).toEpochMilli();
    String future = Long.toString(NOW.plusSeconds(3600).toEpochMilli());
    String good = Long.toString(NOW.minusSeconds(1).toEpochMilli());
    RecordHeaders nonUtf8 = new RecordHeaders();
    nonUtf8.add(HeaderNames.ENQUEUED_AT_MS, new byte[] {(byte) 0xC3, (byte) 0x28});
    for (RecordHeaders h : new RecordHeaders[] {headers(HeaderNames.ENQUEUED_AT_MS, future),
        headers(HeaderNames.ENQUEUED_AT_MS, good, HeaderNames.ENQUEUED_AT_MS, good), nonUtf8,
        headers(HeaderNames.ENQUEUED_AT_MS, "1".repeat(5000))}) {
      assertThat(RequestRecord.parse(record("job-1", timestamp, h, BODY), signer, NOW)
          .enqueuedAtSource()).isEqualTo("record_timestamp");
    }
    assertThat(RequestRecord.parse(record("job-1", timestamp, headers(HeaderNames.ENQUEUED_AT_MS,
        good), BODY), signer, NOW).enqueuedAtSource()).isEqualTo("header");
  }

  @Test
  void aFutureRecordTimestampFallsBackToThePollTime() {
    RequestRecord parsed = RequestRecord.parse(record("job-1", Long.MAX_VALUE, headers(), BODY),
        signer, NOW);
    assertThat(parsed.enqueuedAt()).isEqualTo(NOW);
    assertThat(parsed.enqueuedAtSource()).isEqualTo("poll_time");
    assertThat(RequestRecord.parse(record("job-1", -5, headers(), BODY), signer, NOW)
        .enqueuedAtSource()).isEqualTo("poll_time");
  }

  @Test
  void aTenantHeaderWithoutASignatureIsNotRead() {
    RequestRecord parsed = RequestRecord.parse(record("job-1", NOW.toEpochMilli(),
        headers(HeaderNames.TENANT, "acme", HeaderNames.REQUEST_SHA256, HASH), BODY), signer, NOW);
    assertThat(parsed.origin()).isInstanceOf(RequestRecord.Direct.class);
    assertThat(parsed.tenant("external")).isEqualTo("external");
  }

  @Test
  void aValidSignatureYieldsTheSignedTenantAndHash() {
    String signature = signer.sign("job-1", HASH, "acme", BODY);
    RequestRecord parsed = RequestRecord.parse(record("job-1", NOW.toEpochMilli(), headers(
        HeaderNames.TENANT, "acme", HeaderNames.REQUEST_SHA256, HASH,
        HeaderNames.SIGNATURE, signature), BODY), signer, NOW);
    assertThat(parsed.origin()).isEqualTo(new RequestRecord.Api("acme", HASH));
    assertThat(parsed.tenant("external")).isEqualTo("acme");
  }

  @Test
  void theApiKeyIdIsSignedWithTheRestAndBelievedOnlyThen() {
    String signature = signer.sign("job-1", HASH, "acme", "acme-ci", BODY);
    RequestRecord parsed = RequestRecord.parse(record("job-1", NOW.toEpochMilli(), headers(
        HeaderNames.TENANT, "acme", HeaderNames.API_KEY_ID, "acme-ci",
        HeaderNames.REQUEST_SHA256, HASH, HeaderNames.SIGNATURE, signature), BODY), signer, NOW);
    assertThat(parsed.origin()).isEqualTo(new RequestRecord.Api("acme", HASH, "acme-ci"));
    // Another key's id on the same signature, or none, does not verify.
    assertThat(RequestRecord.parse(record("job-1", 1, headers(HeaderNames.TENANT, "acme",
        HeaderNames.API_KEY_ID, "acme-admin", HeaderNames.REQUEST_SHA256, HASH,
        HeaderNames.SIGNATURE, signature), BODY), signer, NOW).origin())
        .isInstanceOf(RequestRecord.Forged.class);
    assertThat(RequestRecord.parse(record("job-1", 1, headers(HeaderNames.TENANT, "acme",
        HeaderNames.REQUEST_SHA256, HASH, HeaderNames.SIGNATURE, signature), BODY), signer, NOW)
        .origin()).isInstanceOf(RequestRecord.Forged.class);
    // A record signed without a key id signs as it did before key ids existed.
    assertThat(signer.sign("job-1", HASH, "acme", null, BODY))
        .isEqualTo(signer.sign("job-1", HASH, "acme", BODY));
  }

  @Test
  void aSignatureCopiedOntoAnotherTenantKeyOrBodyDoesNotVerify() {
    String signature = signer.sign("job-1", HASH, "acme", BODY);
    byte[] otherBody = "{\"task\":\"vqa\"}".getBytes(StandardCharsets.UTF_8);
    assertThat(RequestRecord.parse(record("job-1", 1, headers(HeaderNames.TENANT, "globex",
        HeaderNames.REQUEST_SHA256, HASH, HeaderNames.SIGNATURE, signature), BODY), signer, NOW)
        .origin()).isInstanceOf(RequestRecord.Forged.class);
    assertThat(RequestRecord.parse(record("job-2", 1, headers(HeaderNames.TENANT, "acme",
        HeaderNames.REQUEST_SHA256, HASH, HeaderNames.SIGNATURE, signature), BODY), signer, NOW)
        .origin()).isInstanceOf(RequestRecord.Forged.class);
    assertThat(RequestRecord.parse(record("job-1", 1, headers(HeaderNames.TENANT, "acme",
        HeaderNames.REQUEST_SHA256, HASH, HeaderNames.SIGNATURE, signature), otherBody), signer, NOW)
        .origin()).isInstanceOf(RequestRecord.Forged.class);
    // Another deployment's key.
    String foreign = new RecordSigner(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
        16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32})
        .sign("job-1", HASH, "acme", BODY);
    assertThat(RequestRecord.parse(record("job-1", 1, headers(HeaderNames.TENANT, "acme",
        HeaderNames.REQUEST_SHA256, HASH, HeaderNames.SIGNATURE, foreign), BODY), signer, NOW)
        .origin()).isInstanceOf(RequestRecord.Forged.class);
  }

  @Test
  void aRepeatedOrGarbageSignatureIsForgedNotAnException() {
    String signature = signer.sign("job-1", HASH, null, BODY);
    for (RecordHeaders h : new RecordHeaders[] {
        headers(HeaderNames.SIGNATURE, signature, HeaderNames.SIGNATURE, signature,
            HeaderNames.REQUEST_SHA256, HASH),
        headers(HeaderNames.SIGNATURE, "v1=zz", HeaderNames.REQUEST_SHA256, HASH),
        headers(HeaderNames.SIGNATURE, "", HeaderNames.REQUEST_SHA256, HASH),
        headers(HeaderNames.SIGNATURE, signature),
        headers(HeaderNames.SIGNATURE, signature, HeaderNames.REQUEST_SHA256, HASH,
            HeaderNames.TENANT, "a", HeaderNames.TENANT, "b")}) {
      assertThat(RequestRecord.parse(record("job-1", 1, h, BODY), signer, NOW).origin())
          .isInstanceOf(RequestRecord.Forged.class);
    }
    assertThat(RequestRecord.parse(record(null, 1, headers(HeaderNames.SIGNATURE, signature,
        HeaderNames.REQUEST_SHA256, HASH), null), signer, NOW).origin())
        .isInstanceOf(RequestRecord.Forged.class);
  }
}
