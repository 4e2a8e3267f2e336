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

        demo    start the stack, run two txt2img jobs and one VQA job, print their results,
                timings and span waterfalls, stop (exit 0 if all succeeded)
        up      start Kafka, S3 and the services in this process; Ctrl-C stops them
        submit  [--direct] [--wait] <job.json | '{...}' | ->   submit to a running stack
                (--direct publishes straight to Kafka, as any Kafka client would)
        get     <job_id>            print a job's status
        fetch   <job_id> [file]     download a finished job's output
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
    java.util.List<String> rest = java.util.Arrays.asList(args).subList(1, args.length);
    switch (args[0]) {
      case "demo" -> {
        Env quiet = env.get(Logging.LEVEL_ENV).isPresent() ? localEnv
            : localEnv.with(Map.of(Logging.LEVEL_ENV, "WARN"));
        Logging.configure(quiet, "local", "local");
        return Demo.run(quiet, out);
      }
      case "submit" -> {
        return ClientCommands.submit(rest, env, out, err);
      }
      case "get" -> {
        return ClientCommands.get(rest, env, out, err);
      }
      case "fetch" -> {
        return ClientCommands.fetch(rest, env, out, err);
      }
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
    out.println("  storage-sink   " + stack.sinkManagementUrl() + "   (/metrics, /healthz, /readyz)");
    out.println("  kafka          " + stack.kafkaBootstrapServers());
    out.println("  s3             " + stack.s3Endpoint() + "   (bucket " + stack.settings().bucket() + ")");
    out.println("Ctrl-C to stop.");
    stopped.await();
    return 0;
  }
}
