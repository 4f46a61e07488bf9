// GET /health: 200 for the workspace's probe; no database, no network, no auth.
export const dynamic = "force-static";

export function GET() {
  return Response.json({ status: "ok" });
}
