package dev.inferpipe.local;

import dev.inferpipe.core.config.Env;
import dev.inferpipe.core.telemetry.Logging;
import java.io.PrintStream;
import dev.inferpipe.consumer.bench.BatchBenchmark;
import dev.inferpipe.consumer.bench.ModelBenchmark;
import dev.inferpipe.consumer.bench.StepBenchmark;
import dev.inferpipe.consumer.exported.ModelTool;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/** The {@code ./pipeline} command. */
public final class PipelineCli {
  private static final String USAGE = """
      usage: ./pipeline <command>

        demo    start the stack, run two txt2img jobs and one VQA job, print their results,
                timings and span waterfalls, stop (exit 0 if all succeeded)
        up      start Kafka, S3 and the services in this process; Ctrl-C stops them
        soak    [minutes] [jobs/s]   steady load on the local stack, then throughput, latency
                percentiles, lost jobs and heap after GC (default 5 min at 1 job/s)
        submit  [--direct] [--wait] <job.json | '{...}' | ->   submit to a running stack
                (--direct publishes straight to Kafka, as any Kafka client would)
        get     <job_id>            print a job's status
        fetch   <job_id> [file]     download a finished job's output
        hash-key <key>              the sha256 to put in an API keys file
        train   where training lives: models/ (PyTorch; see models/README.md)
        evaluate  [--models ROOT] [--judge DIR] [--samples N] [--seed S] [--only txt2img|vqa]
                model quality on scenes from another renderer, held-out prompts and questions
                (docs/models.md)
        bench   measure per-step latency and the cost of per-step spans (docs/models.md)
        bench models [--rounds N] [--steps N] <root>=<id> ...   whole-job latency of models side
                by side (txt2img at 25 steps unless --steps), and the text encoder's share
        bench batch [--sizes 1,2,4,8,16,32] [--rounds N] [--device cpu|gpu]   one sampling step
                over B rows: what batching across jobs gains on this device (docs/PERFORMANCE.md)
        bench pipeline [--jobs N] [--warmup N] [--batch N] [--part overhead|batching|all]
                [--rounds N]   the overhead against plain Kafka and S3 clients on the same
                broker and S3, with its critical path, and throughput at 1, 8 and 32 clients with
                batching off and on (--part overhead: the floor and the overhead only, about a
                minute; --part batching: 25-step jobs at 1 and 32 clients, off and on, --rounds
                times (default 3), alternating, and the on/off ratios;
                --warmup: untimed runs of each first, default 20)
                (docs/PERFORMANCE.md)
        model card <dir>    write model.json for an exported model directory (docs/models.md)
        model check <dir>   load every graph of an exported model, print it, run one job

      Settings come from environment variables (see README): INFERPIPE_DATA_DIR (default ./data),
      INFERPIPE_API_PORT (8080), INFERPIPE_LOCAL_KAFKA_PORT (9092), INFERPIPE_LOCAL_S3_PORT (9000),
      LOG_FORMAT (text here, json in containers), LOG_LEVEL (INFO).
      """;

  private PipelineCli() {}

  /** {@code evaluate [--models ROOT] [--judge DIR] [--samples N] [--seed S] [--only TASK]}. */
  private static int evaluate(List<String> args, PrintStream out) throws Exception {
    Map<String, String> options = new java.util.HashMap<>(Map.of("--models", "classpath:models/",
        "--judge", "models/judge", "--samples", "400", "--seed", "20261202", "--only", "all"));
    for (int i = 0; i + 1 < args.size(); i += 2) {
      if (!options.containsKey(args.get(i))) {
        throw new IllegalArgumentException("unknown option " + args.get(i));
      }
      options.put(args.get(i), args.get(i + 1));
    }
    var scores = dev.inferpipe.local.eval.Evaluation.run(options.get("--models"),
        "tiny-shapes-diffusion", "tiny-shapes-vqa", java.nio.file.Path.of(options.get("--judge")),
        dev.inferpipe.local.eval.World.load(dev.inferpipe.local.eval.World.DEFAULT),
        Integer.parseInt(options.get("--samples")), Long.parseLong(options.get("--seed")),
        options.get("--only").equals("all")
            ? java.util.EnumSet.allOf(dev.inferpipe.core.job.Task.class)
            : java.util.EnumSet.of(dev.inferpipe.core.job.Task.fromWireName(options.get("--only"))));
    dev.inferpipe.local.eval.Evaluation.print(scores, out);
    return 0;
  }

  public static void main(String[] args) throws Exception {
    System.exit(run(args, Env.system(), System.out, System.err));
  }

  static int run(String[] args, Env env, PrintStream out, PrintStream err) throws Exception {
    if (args.length == 0 || args[0].equals("help") || args[0].equals("--help")) {
      out.print(USAGE);
      return args.length == 0 ? 2 : 0;
    }
    List<String> rest = Arrays.asList(args).subList(1, args.length);
    String[] restArray = rest.toArray(String[]::new);
    switch (args[0]) {
      case "demo" -> {
        // The demo's own report is the output; service logs only for warnings unless asked.
        Env demoEnv = withDefaults(env, Map.of(Logging.FORMAT_ENV, "text", Logging.LEVEL_ENV, "WARN"));
        Logging.configure(demoEnv, "local", "local");
        return Demo.run(demoEnv, out);
      }
      case "soak" -> {
        // The local trace store is full after the warm-up, so a heap that grows after it is a leak.
        Env soakEnv = withDefaults(env, Map.of(Logging.FORMAT_ENV, "text", Logging.LEVEL_ENV, "WARN",
            LocalSettings.TRACES_KEPT_ENV, Integer.toString(Soak.TRACES_KEPT)));
        Logging.configure(soakEnv, "local", "local");
        return Soak.run(soakEnv, out,
            java.time.Duration.ofMinutes(rest.isEmpty() ? 5 : Long.parseLong(rest.get(0))),
            rest.size() < 2 ? 1.0 : Double.parseDouble(rest.get(1)));
      }
      case "up" -> {
        Env upEnv = withDefaults(env, Map.of(Logging.FORMAT_ENV, "text"));
        Logging.configure(upEnv, "local", "local");
        return up(upEnv, out);
      }
      case "submit" -> {
        return ClientCommands.submit(rest, env, out, err);
      }
      case "hash-key" -> {
        if (rest.size() != 1) {
          err.println("usage: ./pipeline hash-key <key>");
          return 2;
        }
        out.println(dev.inferpipe.core.job.Sha256.hex(rest.get(0)));
        return 0;
      }
      case "get" -> {
        return ClientCommands.get(rest, env, out, err);
      }
      case "fetch" -> {
        return ClientCommands.fetch(rest, env, out, err);
      }
      case "train" -> {
        // Training is a model team's job in PyTorch, outside the serving code.
        err.println("training lives in models/ (PyTorch, Debian's python3-torch), e.g.\n"
            + "  /usr/bin/python3 models/train_diffusion.py --steps 3000 --seed 1234"
            + " --out models/out/tiny-shapes-diffusion\nsee models/README.md");
        return 2;
      }
      case "evaluate" -> {
        quietLibraries(env);
        return evaluate(rest, out);
      }
      case "model" -> {
        Logging.configure(withDefaults(env, Map.of(Logging.FORMAT_ENV, "text", Logging.LEVEL_ENV,
            "WARN")), "local", "local");
        return ModelTool.run(rest, out, err);
      }
      case "bench" -> {
        quietLibraries(env);
        if (!rest.isEmpty() && rest.get(0).equals("batch")) {
          return BatchBenchmark.run(rest.subList(1, rest.size()), out);
        }
        if (!rest.isEmpty() && rest.get(0).equals("models")) {
          return ModelBenchmark.run(rest.subList(1, rest.size()), out);
        }
        if (!rest.isEmpty() && rest.get(0).equals("pipeline")) {
          Env benchEnv = withDefaults(env, Map.of(Logging.FORMAT_ENV, "text", Logging.LEVEL_ENV,
              "WARN"));
          Logging.configure(benchEnv, "local", "local");
          return PipelineBenchmark.run(benchEnv, out, rest.subList(1, rest.size()));
        }
        StepBenchmark.main(restArray);
        return 0;
      }
      default -> {
        err.println("unknown command '" + args[0] + "'");
        err.print(USAGE);
        return 2;
      }
    }
  }

  /** {@code env} with each default applied only where the variable is not set. */
  private static Env withDefaults(Env env, Map<String, String> defaults) {
    Map<String, String> missing = new java.util.HashMap<>();
    defaults.forEach((name, value) -> {
      if (env.get(name).isEmpty()) {
        missing.put(name, value);
      }
    });
    return env.with(missing);
  }

  private static void quietLibraries(Env env) {
    Logging.configure(withDefaults(env, Map.of(Logging.FORMAT_ENV, "text", Logging.LEVEL_ENV, "WARN")),
        "local", "local");
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
    out.println("  web console    " + stack.apiUrl() + "/console");
    out.println("  producer-api   " + stack.apiUrl() + "   (POST /v1/jobs, GET /v1/jobs/{id}, /metrics)");
    out.println("  gpu-consumer   " + stack.consumerManagementUrl() + "   (/metrics, /healthz, /readyz)");
    out.println("  storage-sink   " + stack.sinkManagementUrl() + "   (/metrics, /healthz, /readyz)");
    out.println("  webhook-notifier " + stack.notifierManagementUrl()
        + " (/metrics, /healthz, /readyz)");
    out.println("  kafka          " + stack.kafkaBootstrapServers());
    out.println("  s3             " + stack.s3Endpoint() + "   (bucket " + stack.settings().bucket() + ")");
    out.println("Ctrl-C to stop.");
    stopped.await();
    return 0;
  }
}
