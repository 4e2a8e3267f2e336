// Usage: node parse.mjs FILE.tf  ->  the file as JSON on stdout; a parse error exits 1 with it.
import { parse } from "@cdktf/hcl2json";
import { readFileSync } from "node:fs";

const file = process.argv[2];
try {
  const json = await parse(file, readFileSync(file, "utf8"));
  process.stdout.write(JSON.stringify(json));
} catch (error) {
  process.stderr.write(String(error && error.message ? error.message : error) + "\n");
  process.exit(1);
}
