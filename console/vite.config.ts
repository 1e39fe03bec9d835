// `vite build console` (npm run build): builds the admin console into dist/console/ (served by functions/console.ts). Relative asset URLs
// (base "./") resolve under /api/console/ whatever the route prefix; no source maps ship.
import { defineConfig } from "vite";

export default defineConfig({
  base: "./",
  logLevel: "warn",
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    outDir: "../dist/console",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    // One script and one stylesheet, no modulepreload polyfill: nothing inline for the CSP to allow.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
});
