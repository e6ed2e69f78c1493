// Builds every workspace package's dist/ with esbuild: one ESM bundle per entry, with the
// other workspace packages and npm dependencies left as imports.
import { build } from "esbuild";
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";

const roots = ["packages/tensor", "packages/autograd", "packages/optim", "packages/nn", "packages/models", "apps/train"];

for (const root of roots) {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const entries = (pkg.equigrad?.entries ?? ["src/index.ts"]).map((e) => join(root, e)).filter(existsSync);
  await build({
    entryPoints: entries,
    outdir: join(root, "dist"),
    outbase: join(root, "src"),
    bundle: true,
    packages: "external",
    // Workspace packages stay imports too (tsconfig paths would otherwise inline a copy of each).
    external: ["@equigrad/*"],
    platform: "node",
    format: "esm",
    target: "node20",
    sourcemap: true,
    logLevel: "warning",
  });
}
