// Validates an OpenAPI document (schema and references) and prints its operations as JSON
// lines ("METHOD /path"), for ProducerApi's route check. Exits 1 with the validator's message.
import SwaggerParser from "@apidevtools/swagger-parser";

const file = process.argv[2];
try {
  const api = await SwaggerParser.validate(file);
  const operations = [];
  for (const [path, item] of Object.entries(api.paths || {})) {
    for (const method of ["get", "put", "post", "delete", "patch", "head", "options"]) {
      if (item[method]) {
        operations.push(method.toUpperCase() + " " + path);
      }
    }
  }
  console.log(JSON.stringify({valid: true, version: api.openapi, operations}));
} catch (e) {
  console.error(e.message);
  process.exit(1);
}
