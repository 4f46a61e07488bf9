// app.baseURL is left at "/": the proxy strips /api/plugins/apps/{{slug}}/proxy before requests
// reach Nitro and rewrites root-absolute URLs in HTML and JS (see the app's README).
export default defineNuxtConfig({
  compatibilityDate: "2024-11-01",
  css: ["~/assets/css/main.css"],
  // The bridge goes in the HTML head of every page.
  app: { head: { title: "{{title}}", script: [{ src: "/synapse-bridge.js" }] } },
  runtimeConfig: {
    public: { rootPath: process.env.SYNAPSE_APP_ROOT_PATH ?? "" },
  },
});
