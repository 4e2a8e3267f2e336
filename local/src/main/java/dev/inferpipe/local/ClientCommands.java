package dev.inferpipe.local;

import dev.inferpipe.core.config.Env;
import dev.inferpipe.core.config.KafkaSettings;
import dev.inferpipe.core.config.Topics;
import dev.inferpipe.core.job.JobId;
import dev.inferpipe.core.kafka.HeaderNames;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import tools.jackson.databind.JsonNode;

/**
 * {@code ./pipeline submit|get|fetch} against a running stack: the API at {@code INFERPIPE_API_URL}
 * (default http://localhost:8080), Kafka at {@code KAFKA_BOOTSTRAP_SERVERS} for {@code --direct}.
 */
final class ClientCommands {
  private ClientCommands() {}

  static int submit(List<String> args, Env env, PrintStream out, PrintStream err) throws Exception {
    boolean direct = args.contains("--direct");
    boolean wait = args.contains("--wait");
    List<String> rest = new ArrayList<>(args);
    rest.removeAll(List.of("--direct", "--wait"));
    if (rest.size() != 1) {
      err.println("usage: ./pipeline submit [--direct] [--wait] <job.json | '{...}' | ->");
      return 2;
    }
    String json = read(rest.get(0));
    ApiClient api = api(env);
    String jobId;
    if (direct) {
      JsonNode tree = api.json(json);
      jobId = tree.has("job_id") ? tree.get("job_id").asString() : JobId.generate();
      publish(env, jobId, json);
      out.println("published " + jobId + " to " + Topics.from(env).requests());
    } else {
      ApiClient.Response accepted = api.submit(json);
      out.println(accepted.body());
      if (accepted.status() != 202) {
        return 1;
      }
      jobId = api.json(accepted.body()).get("job_id").asString();
    }
    if (!wait) {
      return 0;
    }
    JsonNode done = api.awaitTerminal(jobId, Duration.ofMinutes(10), status -> out.printf(
        "\r%s  %-9s", jobId, status.get("status").asString()));
    out.println();
    out.println(done);
    return done.get("status").asString().equals("SUCCEEDED") ? 0 : 1;
  }

  static int get(List<String> args, Env env, PrintStream out, PrintStream err) throws Exception {
    if (args.size() != 1) {
      err.println("usage: ./pipeline get <job_id>");
      return 2;
    }
    ApiClient.Response status = api(env).get("/v1/jobs/" + args.get(0));
    out.println(status.body());
    return status.status() == 200 ? 0 : 1;
  }

  static int fetch(List<String> args, Env env, PrintStream out, PrintStream err) throws Exception {
    if (args.isEmpty() || args.size() > 2) {
      err.println("usage: ./pipeline fetch <job_id> [file]");
      return 2;
    }
    byte[] result = api(env).fetchResult(args.get(0));
    Path file = Path.of(args.size() == 2 ? args.get(1) : args.get(0) + suffix(result));
    Files.write(file, result);
    out.println("wrote " + file.toAbsolutePath() + " (" + result.length + " bytes)");
    return 0;
  }

  private static String suffix(byte[] bytes) {
    return bytes.length > 3 && bytes[1] == 'P' && bytes[2] == 'N' && bytes[3] == 'G' ? ".png" : ".json";
  }

  private static ApiClient api(Env env) {
    return new ApiClient(env.string("INFERPIPE_API_URL", "http://localhost:8080"));
  }

  private static String read(String source) throws Exception {
    if (source.equals("-")) {
      return new String(System.in.readAllBytes(), StandardCharsets.UTF_8);
    }
    if (source.trim().startsWith("{")) {
      return source;
    }
    return Files.readString(Path.of(source));
  }

  /** As any Kafka client would: key = job id, W3C-less, with the record timestamp as queue start. */
  private static void publish(Env env, String jobId, String json) throws Exception {
    try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(
        Map.of("bootstrap.servers", KafkaSettings.from(env).bootstrapServers(), "acks", "all"),
        new StringSerializer(), new ByteArraySerializer())) {
      RecordHeaders headers = new RecordHeaders();
      HeaderNames.put(headers, HeaderNames.CONTENT_TYPE, HeaderNames.JSON);
      HeaderNames.put(headers, HeaderNames.SCHEMA_VERSION, HeaderNames.SCHEMA_V1);
      producer.send(new ProducerRecord<>(Topics.from(env).requests(), null, jobId,
          json.getBytes(StandardCharsets.UTF_8), headers)).get();
    }
  }
}
