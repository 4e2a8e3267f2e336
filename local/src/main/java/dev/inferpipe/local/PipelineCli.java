package dev.inferpipe.local;

import dev.inferpipe.core.config.Env;
import dev.inferpipe.core.telemetry.Logging;
import java.io.PrintStream;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/** The {@code ./pipeline} command. */
public final class PipelineCli {
  private static final String USAGE = """
      usage: ./pipeline <command>

        up      start Kafka, S3 and the services in this process; Ctrl-C stops them
        train   diffusion|vqa|classifier [--steps N] [--batch B] [--seed S] [--out FILE]
                retrain a bundled model (minutes on CPU; see docs/models.md)
        evaluate  measure model quality (judge agreement, VQA exact match)
        bench   measure per-step latency and the cost of per-step spans (docs/models.md)

      Settings come from environment variables (see README): INFERPIPE_DATA_DIR (default ./data),
      INFERPIPE_API_PORT (8080), INFERPIPE_LOCAL_KAFKA_PORT (9092), INFERPIPE_LOCAL_S3_PORT (9000),
      LOG_FORMAT (text here, json in containers), LOG_LEVEL (INFO).
      """;

  private PipelineCli() {}

  public static void main(String[] args) throws Exception {
    System.exit(run(args, Env.system(), System.out, System.err));
  }

  static int run(String[] args, Env env, PrintStream out, PrintStream err) throws Exception {
    if (args.length == 0 || args[0].equals("help") || args[0].equals("--help")) {
      out.print(USAGE);
      return args.length == 0 ? 2 : 0;
    }
    Env localEnv = env.get(Logging.FORMAT_ENV).isPresent() ? env
        : env.with(Map.of(Logging.FORMAT_ENV, "text"));
    Logging.configure(localEnv, "local", "local");
    switch (args[0]) {
      case "up" -> {
        return up(localEnv, out);
      }
      case "train" -> {
        dev.inferpipe.consumer.train.TrainMain.main(java.util.Arrays.copyOfRange(args, 1, args.length));
        return 0;
      }
      case "evaluate" -> {
        dev.inferpipe.consumer.eval.EvaluateMain.main(java.util.Arrays.copyOfRange(args, 1, args.length));
        return 0;
      }
      case "bench" -> {
        dev.inferpipe.consumer.bench.StepBenchmark.main(java.util.Arrays.copyOfRange(args, 1, args.length));
        return 0;
      }
      default -> {
        err.println("unknown command '" + args[0] + "'");
        err.print(USAGE);
        return 2;
      }
    }
  }

  private static int up(Env env, PrintStream out) throws InterruptedException {
    LocalStack stack = LocalStack.start(env);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      out.println("stopping...");
      stack.close();
      stopped.countDown();
    }, "pipeline-shutdown"));
    out.println();
    out.println("inferpipe is up (data in " + stack.settings().dataDir() + ")");
    out.println("  producer-api   " + stack.apiUrl() + "   (POST /v1/jobs, GET /v1/jobs/{id}, /metrics)");
    out.println("  gpu-consumer   " + stack.consumerManagementUrl() + "   (/metrics, /healthz, /readyz)");
    out.println("  kafka          " + stack.kafkaBootstrapServers());
    out.println("  s3             " + stack.s3Endpoint() + "   (bucket " + stack.settings().bucket() + ")");
    out.println("Ctrl-C to stop.");
    stopped.await();
    return 0;
  }
}
