// Bundles bench/main.ts with esbuild and runs it; arguments pass through (--quick, --only=...).
import { build } from "esbuild";
import { spawnSync } from "node:child_process";

await build({
  entryPoints: ["bench/main.ts"],
  outfile: ".tmp/bench.mjs",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  logLevel: "warning",
  alias: Object.fromEntries(["tensor", "autograd", "nn", "optim", "models"].map((p) => [`@equigrad/${p}`, `./packages/${p}/src/index.ts`])),
});
const r = spawnSync(process.execPath, [".tmp/bench.mjs", ...process.argv.slice(2)], { stdio: "inherit" });
process.exit(r.status ?? 1);
