import { defineConfig } from "vitest/config";
import { fileURLToPath } from "node:url";

const src = (p: string) => fileURLToPath(new URL(`./${p}/src/index.ts`, import.meta.url));

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
    include: ["packages/*/test/**/*.test.ts", "apps/*/test/**/*.test.ts"],
    testTimeout: 60_000,
    setupFiles: ["test-setup/backend.ts"],
  },
});
