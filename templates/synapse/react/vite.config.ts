import { defineConfig, type Plugin } from "vite";
import react from "@vitejs/plugin-react";

// GET /health answers 200 on the dev and the preview server: the workspace probes it directly
// (http://synapse-app-{{slug}}:{{port}}/health), without the proxy prefix.
function health(): Plugin {
  const handler = (_req: unknown, res: { statusCode: number; setHeader(k: string, v: string): void; end(b: string): void }) => {
    res.statusCode = 200;
    res.setHeader("Content-Type", "application/json");
    res.end('{"status":"ok"}');
  };
  return {
    name: "synapse-health",
    configureServer(server) {
      server.middlewares.use("/health", handler);
    },
    configurePreviewServer(server) {
      server.middlewares.use("/health", handler);
    },
  };
}

// The proxy strips /api/plugins/apps/{{slug}}/proxy before requests reach Vite and rewrites
// root-absolute imports in HTML and JS, so `base` stays "/". HMR's websocket is not rewritten:
// point it at the prefix (SYNAPSE_APP_ROOT_PATH is set by the runner).
const rootPath = process.env.SYNAPSE_APP_ROOT_PATH ?? "";

export default defineConfig({
  plugins: [react(), health()],
  server: {
    host: "0.0.0.0",
    port: {{port}},
    hmr: rootPath ? { path: `${rootPath}/__hmr`, clientPort: 3000 } : undefined,
  },
  preview: { host: "0.0.0.0", port: {{port}} },
});
