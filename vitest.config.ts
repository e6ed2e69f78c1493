import { defineConfig } from "vitest/config";
import { fileURLToPath } from "node:url";

const src = (p: string) => fileURLToPath(new URL(`./${p}/src/index.ts`, import.meta.url));

// Op and gradient tests run once per backend: the reference oracle and the wasm backend.
const opTests = ["packages/tensor/test/*.test.ts", "packages/autograd/test/*.test.ts"];

export default defineConfig({
  resolve: {
    alias: {
      "@equigrad/tensor": src("packages/tensor"),
      "@equigrad/autograd": src("packages/autograd"),
      "@equigrad/nn": src("packages/nn"),
      "@equigrad/optim": src("packages/optim"),
      "@equigrad/models": src("packages/models"),
    },
  },
  test: {
    testTimeout: 60_000,
    setupFiles: ["test-setup/backend.ts"],
    projects: [
      {
        extends: true,
        test: { name: "reference", include: ["packages/*/test/**/*.test.ts", "apps/*/test/**/*.test.ts"], env: { EQUIGRAD_BACKEND: "reference" } },
      },
      // EQUIGRAD_DEBUG_WASM=1: every generated kernel is checked with WebAssembly.validate.
      { extends: true, test: { name: "wasm", include: opTests, env: { EQUIGRAD_BACKEND: "wasm", EQUIGRAD_DEBUG_WASM: "1" } } },
    ],
  },
});
