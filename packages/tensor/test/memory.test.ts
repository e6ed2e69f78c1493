import { describe, expect, it } from "vitest";
import { OpError, Tensor, dispose, memoryStats, ones, tensor, tidy, zeros } from "@equigrad/tensor";
import { expectExact, expectOpError } from "./helpers.js";

const live = () => memoryStats().liveBuffers;
const bytes = () => memoryStats().liveBytes;

describe("memoryStats", () => {
  it("counts buffers and bytes per dtype; dispose frees (twice is safe)", () => {
    const b0 = live();
    const y0 = bytes();
    const ts = [zeros([10]), zeros([10], { dtype: "float64" }), zeros([10], { dtype: "int32" }), zeros([10], { dtype: "bool" })];
    expect(live()).toBe(b0 + 4);
    expect(bytes()).toBe(y0 + 40 + 80 + 40 + 10);
    ts[1]!.dispose();
    expect(live()).toBe(b0 + 3);
    expect(bytes()).toBe(y0 + 40 + 40 + 10);
    ts[1]!.dispose();
    expect(live()).toBe(b0 + 3);
    dispose(ts);
    expect(live()).toBe(b0);
    expect(bytes()).toBe(y0);
  });

  it("a buffer lives while any view of it does", () => {
    const b0 = live();
    const x = tensor([[1, 2], [3, 4]]);
    const v = tidy(() => x.transpose().reshape(4)); // tidy releases the intermediate transposed view
    const w = tidy(() => x.slice(1)); // (an integer index is a slice view plus a reshape view)
    expect(live()).toBe(b0 + 2); // x's buffer + the copy made by the non-viewable reshape
    x.dispose();
    expect(live()).toBe(b0 + 2);
    expectExact(w, [3, 4]);
    w.dispose();
    expect(live()).toBe(b0 + 1);
    expectExact(v, [1, 3, 2, 4]);
    v.dispose();
    expect(live()).toBe(b0);
  });
});

describe("tidy", () => {
  it("releases intermediates and keeps the returned tensor", () => {
    const b0 = live();
    let a!: Tensor, b!: Tensor;
    const out = tidy(() => {
      a = ones([4]);
      b = a.add(ones([4]));
      return b.mul(b).sum();
    });
    expect(live()).toBe(b0 + 1);
    expect(a.isDisposed).toBe(true);
    expect(b.isDisposed).toBe(true);
    expect(out.isDisposed).toBe(false);
    expect(out.item()).toBe(16);
    out.dispose();
    expect(live()).toBe(b0);
  });

  it("keeps tensors returned inside nested objects, arrays and Maps", () => {
    const b0 = live();
    let scratch!: Tensor;
    const res = tidy(() => {
      scratch = zeros([2]);
      const t = (v: number) => tensor([v]);
      return { x: t(1), list: [t(2), { y: t(3) }], m: new Map([["k", t(4)]]), n: 5 };
    });
    expect(scratch.isDisposed).toBe(true);
    expect(live()).toBe(b0 + 4);
    expect(res.x.item()).toBe(1);
    expect((res.list[0] as Tensor).item()).toBe(2);
    expect((res.list[1] as { y: Tensor }).y.item()).toBe(3);
    expect(res.m.get("k")!.item()).toBe(4);
    expect(res.n).toBe(5);
    dispose(res);
    expect(live()).toBe(b0);
  });

  it("keeps a returned view of an intermediate (its buffer stays alive)", () => {
    const b0 = live();
    const v = tidy(() => tensor([[1, 2], [3, 4]]).add(10).slice(null, 1));
    expect(live()).toBe(b0 + 1);
    expectExact(v, [12, 14]);
    v.dispose();
    expect(live()).toBe(b0);
  });

  it("keep() exempts a tensor from every scope", () => {
    const b0 = live();
    let k!: Tensor;
    tidy(() => {
      tidy(() => {
        k = ones([3]).keep();
        ones([3]);
      });
      zeros([1]);
    });
    expect(k.isKept).toBe(true);
    expect(k.isDisposed).toBe(false);
    expect(live()).toBe(b0 + 1);
    expectExact(k, [1, 1, 1]);
    k.dispose();
    expect(live()).toBe(b0);
  });

  it("a nested tidy moves its result to the parent scope", () => {
    const b0 = live();
    let inner!: Tensor;
    const outer = tidy(() => {
      inner = tidy(() => ones([2]).mul(3));
      expect(inner.isDisposed).toBe(false);
      return inner.add(1);
    });
    // The inner result was released by the outer scope, which did not return it.
    expect(inner.isDisposed).toBe(true);
    expectExact(outer, [4, 4]);
    expect(live()).toBe(b0 + 1);
    const both = tidy(() => tidy(() => ones([2])));
    expect(both.isDisposed).toBe(false);
    dispose([outer, both]);
    expect(live()).toBe(b0);
  });

  it("an exception inside tidy releases everything the scope made and propagates", () => {
    const b0 = live();
    let a!: Tensor;
    expect(() =>
      tidy(() => {
        a = ones([5]);
        a.add(ones([4])); // shape error
      }),
    ).toThrow(OpError);
    expect(a.isDisposed).toBe(true);
    expect(live()).toBe(b0);
    // Caught in an outer scope: the inner scope's tensors are gone, the outer ones stay until it ends.
    let outerT!: Tensor;
    const r = tidy(() => {
      outerT = ones([2]);
      try {
        tidy(() => {
          zeros([3]);
          throw new Error("boom");
        });
      } catch {
        // ignored
      }
      expect(live()).toBe(b0 + 1);
      return 7;
    });
    expect(r).toBe(7);
    expect(outerT.isDisposed).toBe(true);
    expect(live()).toBe(b0);
  });

  it("refuses async functions", () => {
    expect(() => tidy(() => Promise.resolve(1))).toThrow(/Promise/);
  });
});

describe("assign", () => {
  it("releases the old buffer and takes the new value", () => {
    const p = tensor([1, 2, 3]).keep();
    const id0 = p.id;
    const b0 = live();
    tidy(() => {
      p.assign(p.mul(2).add(1));
    });
    expectExact(p, [3, 5, 7]);
    expect(p.id).not.toBe(id0);
    expect(live()).toBe(b0);
    p.dispose();
  });

  it("a training-style loop stays flat in memory", () => {
    const w = zeros([4, 4]).keep();
    const m = zeros([4, 4]).keep();
    const b0 = live();
    for (let step = 0; step < 100; step++) {
      tidy(() => {
        const g = ones([4, 4]).mul(step);
        m.assign(m.mul(0.9).add(g.mul(0.1)));
        w.assign(w.sub(m.mul(0.01)));
      });
      expect(live()).toBe(b0);
    }
    expect(Number.isFinite(w.sum().item())).toBe(true);
    dispose([w, m]);
  });

  it("checks shape and dtype, and refuses a disposed target", () => {
    const p = zeros([2, 3]);
    expectOpError(() => p.assign(zeros([3, 2])), "assign", "[3, 2]", "[2, 3]");
    expectOpError(() => p.assign(zeros([2, 3], { dtype: "float64" })), "assign", "float64", "float32");
    p.dispose();
    expectOpError(() => p.assign(zeros([2, 3])), "assign", "disposed");
  });
});

describe("disposed tensors", () => {
  it("give a clear error when used", () => {
    const t = tensor([1, 2]);
    t.dispose();
    expect(t.isDisposed).toBe(true);
    expect(String(t)).toContain("disposed");
    expectOpError(() => t.add(1), "add", "[2]", "disposed");
    expectOpError(() => t.reshape(2, 1), "reshape", "disposed");
    expectOpError(() => t.data(), "data", "[2]", "disposed");
    expectOpError(() => t.toArray(), "data", "disposed");
    expectOpError(() => t.alias(), "alias", "disposed");
  });

  it("a tensor released by tidy is disposed for good", () => {
    const t = tidy(() => {
      const a = ones([3]);
      return { keep: a.add(1), a };
    });
    const leaked = tidy(() => ones([3]).mul(2).neg());
    expect(leaked.isDisposed).toBe(false);
    let escaped!: Tensor;
    tidy(() => {
      escaped = ones([1]);
    });
    expectOpError(() => escaped.mul(2), "mul", "disposed");
    dispose([t, leaked]);
  });

  it("alias shares the value and is kept", () => {
    const b0 = live();
    const x = tensor([1, 2]);
    const a = tidy(() => x.alias());
    expect(a.id).toBe(x.id);
    expect(a.storage).toBe(x.storage);
    expect(a.isKept).toBe(true);
    x.dispose();
    expectExact(a, [1, 2]);
    a.dispose();
    expect(live()).toBe(b0);
  });
});
