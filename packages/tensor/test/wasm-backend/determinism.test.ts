import { describe, expect, it } from "vitest";
import { Rng, WasmBackend, crossEntropy, layerNorm, registerBackend, scaledDotProductAttention, tidy, withBackend, type Tensor } from "@equigrad/tensor";
import { valueAndGrad } from "@equigrad/autograd";

// One backend per thread count, registered under its own name.
const backends = new Map<number, string>();
function backendWith(threads: number): string {
  let name = backends.get(threads);
  if (!name) {
    name = `wasm-${threads}t`;
    const b = new WasmBackend({ threads });
    registerBackend(name, () => b);
    backends.set(threads, name);
  }
  return name;
}

/** A small transformer-ish forward + backward whose ops are all large enough to be split across threads. */
function workload(): number[][] {
  return tidy(() => {
    const r = new Rng(11);
    const x = r.normal([4, 64, 96]);
    const w = r.normal([96, 288], 0, 0.1);
    const head = r.normal([96, 256], 0, 0.1);
    const targets = r.uniform([4, 64], 0, 256).cast("int32");
    const f = (w: Tensor, head: Tensor) => {
      const qkv = layerNorm(x).matmul(w).reshape(4, 64, 3, 4, 24).permute(2, 0, 3, 1, 4);
      const [q, k, v] = [0, 1, 2].map((i) => qkv.slice(i));
      const att = scaledDotProductAttention(q!, k!, v!).permute(0, 2, 1, 3).reshape(4, 64, 96);
      return crossEntropy(att.gelu().add(x).matmul(head), targets);
    };
    const [loss, grads] = valueAndGrad(f, { argnums: [0, 1] })(w, head) as [Tensor, Tensor[]];
    return [loss.toArray(), ...grads.map((g) => g.toArray())];
  });
}

describe("wasm determinism", () => {
  it("1 and 2 threads give bit-identical losses and gradients", () => {
    const one = withBackend(backendWith(1), workload);
    const two = withBackend(backendWith(2), workload);
    expect(two).toEqual(one);
  });

  it("repeated runs give bit-identical results", () => {
    const a = withBackend(backendWith(2), workload);
    const b = withBackend(backendWith(2), workload);
    expect(b).toEqual(a);
  });
});
