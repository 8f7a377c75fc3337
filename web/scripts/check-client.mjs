// Fails when src/client (or openapi.json) no longer matches what the backend's current OpenAPI document
// generates: regenerate both into a temp dir and compare file by file. Fix with `npm run generate`.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const web = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const scratch = mkdtempSync(join(tmpdir(), "wadesk-client-"));

function files(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

try {
  const spec = join(scratch, "openapi.json");
  const output = join(scratch, "client");
  execFileSync(process.execPath, [join(web, "scripts", "openapi.mjs"), spec], { cwd: web, stdio: "inherit" });
  execFileSync(join(web, "node_modules", ".bin", "openapi-ts"), [], {
    cwd: web,
    env: { ...process.env, WADESK_CLIENT_INPUT: spec, WADESK_CLIENT_OUTPUT: output },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const problems = [];
  if (!existsSync(join(web, "openapi.json")) || readFileSync(join(web, "openapi.json"), "utf8") !== readFileSync(spec, "utf8")) {
    problems.push("openapi.json differs from the backend's current OpenAPI document");
  }
  const committed = new Map(files(join(web, "src", "client")).map((p) => [relative(join(web, "src", "client"), p), p]));
  const fresh = new Map(files(output).map((p) => [relative(output, p), p]));
  for (const [name, path] of fresh) {
    if (!committed.has(name)) problems.push(`src/client/${name} is missing`);
    else if (readFileSync(committed.get(name), "utf8") !== readFileSync(path, "utf8")) problems.push(`src/client/${name} is stale`);
  }
  for (const name of committed.keys()) {
    if (!fresh.has(name)) problems.push(`src/client/${name} is no longer generated`);
  }
  if (problems.length > 0) {
    console.error("The generated API client is out of date with the backend:");
    for (const problem of problems) console.error(`  - ${problem}`);
    console.error("Run `npm run generate` in web/ and commit the result.");
    process.exit(1);
  }
  console.log("The generated API client matches the backend's OpenAPI document.");
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
