import type { NextConfig } from "next";

// basePath is fixed at build time, and the proxy strips /api/plugins/apps/{{slug}}/proxy before
// requests reach Next, so none is set: the proxy rewrites root-absolute asset URLs in HTML and
// JS. To bake one instead, build with NEXT_PUBLIC_BASE_PATH (one image per workspace).
const nextConfig: NextConfig = {
  basePath: process.env.NEXT_PUBLIC_BASE_PATH || undefined,
};

export default nextConfig;
