import { execFileSync } from "node:child_process";
import { symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { tempDirs } from "./fixtures/tmp.js";

const tmp = tempDirs("bundle");
const app = join(dirname(fileURLToPath(import.meta.url)), "..");

describe("tokenizer worker from an esbuild bundle", () => {
  it("prepares a GPT-2 corpus when bundled the way scripts/build.mjs bundles dist/", async () => {
    // The bundle sits in a folder whose node_modules is the app's, as dist/ does.
    const dir = tmp();
    symlinkSync(join(app, "node_modules"), join(dir, "node_modules"), "dir");
    await build({
      stdin: { contents: `export { prepareCorpus, textCorpus } from "./src/data/index.ts"; export { gpt2Tokenizer } from "./src/tokenizers/index.ts";`, resolveDir: app, loader: "ts" },
      outfile: join(dir, "bundle.js"),
      bundle: true,
      packages: "external",
      platform: "node",
      format: "esm",
      target: "node20",
      logLevel: "silent",
    });
    writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
    writeFileSync(join(dir, "doc.txt"), "Hello world");
    writeFileSync(
      join(dir, "main.js"),
      `import { prepareCorpus, textCorpus, gpt2Tokenizer } from "./bundle.js";
       const p = await prepareCorpus({ corpus: textCorpus(${JSON.stringify(join(dir, "doc.txt"))}), tokenizer: gpt2Tokenizer(), cacheDir: ${JSON.stringify(join(dir, "cache"))} });
       console.log(JSON.stringify({ tokenized: p.tokenized, train: Array.from(p.train) }));`,
    );
    const out = JSON.parse(execFileSync(process.execPath, [join(dir, "main.js")], { encoding: "utf8" })) as { tokenized: boolean; train: number[] };
    expect(out).toEqual({ tokenized: true, train: [50256, 15496, 995] });
  });
});
