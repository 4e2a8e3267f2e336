package dev.inferpipe.api;

import dev.inferpipe.core.job.JobCodec;
import io.javalin.http.Context;

/** Writes JSON bodies with the project's codec (snake_case, no nulls). */
final class ApiResponses {
  private static final JobCodec CODEC = new JobCodec();
  private static final String JSON = "application/json";

  private ApiResponses() {}

  static void json(Context ctx, int status, Object body) {
    ctx.status(status).contentType(JSON).result(CODEC.encode(body));
  }

  static void error(Context ctx, int status, ApiError error) {
    json(ctx, status, new ApiError.Body(error));
  }
}
