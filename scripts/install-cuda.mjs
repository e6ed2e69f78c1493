// `pnpm install-cuda`: fetches onnxruntime-node's CUDA 12 execution provider, which default
// installs leave out (its install script downloads from api.nuget.org, so pnpm-workspace.yaml
// keeps it off). Needs an NVIDIA GPU with CUDA 12.x and cuDNN 9.x on the library path.
import { createRequire } from "node:module";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";

const require = createRequire(new URL("../packages/tensor/package.json", import.meta.url));
const dir = dirname(require.resolve("onnxruntime-node/package.json"));
const r = spawnSync(process.execPath, [join(dir, "script", "install.js")], { stdio: "inherit", cwd: dir, env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: "cuda12" } });
process.exit(r.status ?? 1);
