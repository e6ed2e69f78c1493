import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { encodeModel } from "./proto.js";
import { ONNX_TYPE } from "./proto.js";

/**
 * Execution providers. A provider that cannot load fails the whole ORT session, so each
 * requested provider is probed once, in a child process (a broken CUDA/Vulkan stack may
 * abort the process rather than throw), and a failure becomes a `ProviderError` saying what
 * is missing and how to install it. There is never a silent fallback to another provider.
 */

export type Provider = "cpu" | "cuda" | "webgpu";
export const PROVIDERS: readonly Provider[] = ["cpu", "cuda", "webgpu"];

export class ProviderError extends Error {
  constructor(
    readonly provider: Provider,
    message: string,
  ) {
    super(message);
    this.name = "ProviderError";
  }
}

const require = createRequire(import.meta.url);

/** Where onnxruntime-node keeps its native libraries for this platform. */
export function ortBinDir(): string {
  const pkg = dirname(require.resolve("onnxruntime-node/package.json"));
  return join(pkg, "bin", "napi-v6", process.platform, process.arch);
}

const ortVersion = (): string => (require("onnxruntime-node/package.json") as { version: string }).version;

/** How to get the CUDA provider: the one place that says it. */
export function cudaInstallHint(): string {
  const script = join(dirname(require.resolve("onnxruntime-node/package.json")), "script", "install.js");
  return (
    `The CUDA provider needs an NVIDIA GPU with CUDA 12.x and cuDNN 9.x on the library path (libcudart.so.12, libcublas, libcudnn.so.9 incl. libcudnn_adv.so.9, libcufft, libcurand), ` +
    `plus the provider binaries (libonnxruntime_providers_cuda.so, _shared.so), which onnxruntime-node downloads only when asked: ` +
    `run \`npx -y pnpm@12.4.2 install-cuda\` in the equigrad checkout, i.e. \`ONNXRUNTIME_NODE_INSTALL=cuda12 node ${script}\` (needs access to api.nuget.org), or allow onnxruntime-node's install script ` +
    `(allowBuilds in pnpm-workspace.yaml) and reinstall with ONNXRUNTIME_NODE_INSTALL=cuda12. Use provider "cpu" to run without a GPU.`
  );
}

/** A one-node model (y = x + x) to open a session on. */
function tinyModel(): Uint8Array {
  const info = (name: string) => ({ name, elemType: ONNX_TYPE.float, shape: [1] });
  return encodeModel({
    irVersion: 10,
    opsets: [{ domain: "", version: 21 }],
    graph: { name: "probe", nodes: [{ opType: "Add", inputs: ["x", "x"], outputs: ["y"] }], initializers: [], inputs: [info("x")], outputs: [info("y")] },
  });
}

const PROBE = `
const ort = require(process.argv[1]);
const bytes = require("fs").readFileSync(0);
ort.InferenceSession.create(bytes, { executionProviders: [process.argv[2]] })
  .then((s) => s.run({ x: new ort.Tensor("float32", new Float32Array([1]), [1]) }))
  .then(() => process.exit(0), (e) => { process.stderr.write(String((e && e.message) || e)); process.exit(1); });
`;

/** The gist of ORT's error text: its last non-stack line, without the failed-check preamble. */
function reason(stderr: string): string {
  const lines = stderr.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("at "));
  const last = lines[lines.length - 1] ?? "";
  const i = last.lastIndexOf(" was false. ");
  return i >= 0 ? last.slice(i + " was false. ".length) : last;
}

/** Runs the probe; returns null when a session with `provider` opens and runs, else why not. */
function probe(provider: Provider): string | null {
  const r = spawnSync(process.execPath, ["-e", PROBE, require.resolve("onnxruntime-node"), provider], { input: tinyModel(), timeout: 120_000, encoding: "utf8" });
  if (r.status === 0) return null;
  if (r.error) return r.error.message;
  const why = reason(r.stderr || "");
  return r.signal ? `the probe process died with ${r.signal}${why ? `: ${why}` : ""}` : why || `the probe exited with status ${r.status}`;
}

const checked = new Map<Provider, ProviderError | null>();

function diagnose(provider: Provider): ProviderError | null {
  if (!PROVIDERS.includes(provider)) return new ProviderError(provider, `unknown execution provider '${provider}': expected one of ${PROVIDERS.join(", ")}`);
  if (provider === "cpu") return null;
  if (provider === "cuda") {
    if (process.platform !== "linux" && process.platform !== "win32") return new ProviderError(provider, `the CUDA execution provider is not available on ${process.platform}: onnxruntime-node has it for linux/x64 and win32/x64 only. Use provider "cpu"${process.platform === "darwin" ? "" : ' or "webgpu"'}.`);
    const lib = join(ortBinDir(), process.platform === "win32" ? "onnxruntime_providers_cuda.dll" : "libonnxruntime_providers_cuda.so");
    if (!existsSync(lib)) {
      return new ProviderError(provider, `the CUDA execution provider is not installed: ${lib} is missing (onnxruntime-node ${ortVersion()} ships only the CPU and WebGPU providers). ${cudaInstallHint()}`);
    }
    const why = probe(provider);
    return why === null ? null : new ProviderError(provider, `the CUDA execution provider failed to load: ${why}. ${cudaInstallHint()}`);
  }
  const why = probe(provider);
  return why === null
    ? null
    : new ProviderError(provider, `the WebGPU execution provider failed to start: ${why}. It needs a GPU with a working Vulkan driver (Linux) or D3D12 (Windows) / Metal (macOS); there is no software fallback. Use provider "cpu" to run without a GPU.`);
}

/** Throws a ProviderError unless `provider` can run a session here (probed once per process). */
export function ensureProvider(provider: Provider): void {
  if (!checked.has(provider)) checked.set(provider, diagnose(provider));
  const err = checked.get(provider);
  if (err) throw err;
}
