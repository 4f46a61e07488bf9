// GET /health (server/routes, not server/api, which Nitro serves under /api/).
export default defineEventHandler(() => ({ status: "ok" }));
