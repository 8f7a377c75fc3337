import { resolve } from "node:path";

import { defineConfig } from "@hey-api/openapi-ts";

// The API client is generated from the backend's OpenAPI document (`npm run generate`); never edit src/client.
// WADESK_CLIENT_INPUT / WADESK_CLIENT_OUTPUT let `npm run check:client` generate elsewhere and compare.
export default defineConfig({
  // Always an absolute path: the generated types depend on how the input was named.
  input: resolve(process.env.WADESK_CLIENT_INPUT ?? "openapi.json"),
  output: { path: process.env.WADESK_CLIENT_OUTPUT ?? "src/client" },
  plugins: ["@hey-api/client-fetch", "@hey-api/typescript", "@hey-api/sdk"],
});
