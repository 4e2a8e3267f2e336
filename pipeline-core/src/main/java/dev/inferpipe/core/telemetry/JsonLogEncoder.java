package dev.inferpipe.core.telemetry;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.encoder.EncoderBase;
import java.util.Map;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;

/** Logback encoder writing one JSON object per line (see {@link LogFields} for the fields). */
public final class JsonLogEncoder extends EncoderBase<ILoggingEvent> {
  private static final byte[] NEWLINE = {'\n'};
  private final ObjectMapper mapper = JsonMapper.builder().build();
  private String service = "inferpipe";
  private String instanceId = "unknown";

  public void setService(String service) {
    this.service = service;
  }

  public void setInstanceId(String instanceId) {
    this.instanceId = instanceId;
  }

  @Override
  public byte[] headerBytes() {
    return null;
  }

  @Override
  public byte[] encode(ILoggingEvent event) {
    Map<String, Object> fields = LogFields.of(event, service, instanceId);
    byte[] json;
    try {
      json = mapper.writeValueAsBytes(fields);
    } catch (RuntimeException e) {
      // A value Jackson cannot write must not lose the line: fall back to strings.
      fields.replaceAll((k, v) -> String.valueOf(v));
      json = mapper.writeValueAsBytes(fields);
    }
    byte[] line = new byte[json.length + 1];
    System.arraycopy(json, 0, line, 0, json.length);
    line[json.length] = NEWLINE[0];
    return line;
  }

  @Override
  public byte[] footerBytes() {
    return null;
  }
}
