// Builds the client into dist/ (git-ignored): one ES module bundle, one stylesheet (Leaflet's
// included), the page, and Natural Earth country outlines for the map (no tile server offline).
import { build } from "esbuild";
import { copyFile, mkdir, rm } from "node:fs/promises";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const out = new URL("./dist/", import.meta.url).pathname;

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
await build({
  entryPoints: { app: "src/main.js", app_css: "src/styles.css" },
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  sourcemap: true,
  outdir: out,
  entryNames: "[name]",
  assetNames: "assets/[name]-[hash]",
  loader: { ".png": "file", ".svg": "file" },
  logLevel: "warning",
});
await copyFile("src/index.html", `${out}index.html`);
await copyFile(require.resolve("world-atlas/countries-110m.json"), `${out}countries-110m.json`);
