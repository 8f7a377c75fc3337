// Writes the backend's OpenAPI document (what GET /api/openapi.json serves) to the path given, without a server:
// the Python app is created in a throw-away data dir so no development secrets or database are touched.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const python = process.env.WADESK_PYTHON ?? join(root, ".venv", "bin", "python");
const target = resolve(process.argv[2] ?? "openapi.json");

const program = [
  "import json",
  "from wadesk.app import create_app",
  "print(json.dumps(create_app().openapi(), indent=2, sort_keys=True))",
].join("; ");

const dataDir = mkdtempSync(join(tmpdir(), "wadesk-openapi-"));
try {
  const spec = execFileSync(python, ["-c", program], {
    cwd: root,
    env: { ...process.env, WADESK_DATA_DIR: dataDir, WADESK_SIMULATOR: "0", WADESK_LOG_JSON: "1" },
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    stdio: ["ignore", "pipe", "inherit"],
  });
  JSON.parse(spec); // refuse to write anything that is not the document
  writeFileSync(target, spec);
  console.log(`OpenAPI document written to ${target}`);
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
