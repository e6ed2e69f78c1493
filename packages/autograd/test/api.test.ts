import { describe, expect, it } from "vitest";
import { grad, isRecording, noGrad, stopGradient, valueAndGrad } from "@equigrad/autograd";
import * as T from "@equigrad/tensor";
import { OpError, memoryStats, tidy, type Tensor } from "@equigrad/tensor";
import { expectClose, f64, randn } from "./helpers.js";

const i32 = (values: number[], shape: number[] = [values.length]): Tensor => T.tensor(Int32Array.from(values), { shape });

describe("integer inputs", () => {
  it("an int32 tensor in a non-differentiated argument works and gets no gradient", () => {
    const x = randn([3, 4], 301);
    const idx = i32([2, 0, 1, 3]);
    const f = (t: Tensor, i: Tensor): Tensor => T.indexSelect(t, i, 1).mul(i.cast("float64")).sum();
    const g = grad(f)(x, idx) as Tensor;
    expect(g.shape).toEqual([3, 4]);
    // Column c of x is read at position p with idx[p] = c, weighted by idx[p] = c.
    expectClose(g, [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3]);
  });

  it("int32 operands mixed into float ops give the float operand its gradient", () => {
    const n = i32([1, 2, 3]);
    expectClose(grad((x: Tensor, k: Tensor) => x.mul(k).add(k).sum())(f64([5, 6, 7]), n), [1, 2, 3]);
  });

  it("an int32 leaf in a differentiated argument raises a clear error naming dtype, path and argnums", () => {
    const f = (x: Tensor, k: Tensor): Tensor => x.mul(k).sum();
    expect(() => grad(f, { argnums: [0, 1] })(f64([1]), i32([2]))).toThrow(OpError);
    expect(() => grad(f, { argnums: [0, 1] })(f64([1]), i32([2]))).toThrow(/argument 1 has a int32 leaf at '<root>'.*argnums/);
    const tree = (p: { a: Tensor; b: Tensor[] }): Tensor => p.a.sum().add(p.b[1]!.cast("float64").sum());
    expect(() => grad(tree)({ a: f64([1]), b: [f64([1]), i32([3])] })).toThrow(/int32 leaf at 'b\.1'/);
  });

  it("a bool leaf and a non-tensor leaf in a differentiated argument are clear errors too", () => {
    expect(() => grad((x: Tensor) => x.cast("float64").sum())(T.tensor([true]))).toThrow(/bool leaf/);
    expect(() => grad((p: { w: Tensor; n: number }) => p.w.mul(p.n).sum())({ w: f64([1]), n: 3 })).toThrow(/non-tensor leaf at 'n'/);
  });
});

describe("accumulation and aliasing", () => {
  it("a tensor used several times accumulates: d/dx Σ (x·x + x) = 2x + 1", () => {
    const x = randn([4], 311);
    expectClose(grad((t: Tensor) => t.mul(t).add(t).sum())(x), x.mul(2).add(1));
  });

  it("uses through different views accumulate", () => {
    const x = randn([2, 3], 312);
    expectClose(grad((t: Tensor) => t.add(t.transpose().transpose()).add(t.reshape(6).reshape(2, 3)).sum())(x), new Array(6).fill(3));
  });

  it("the same tensor passed as two arguments gets two separate gradients", () => {
    const x = randn([3], 313);
    const [ga, gb] = grad((a: Tensor, b: Tensor) => a.mul(b.square()).sum(), { argnums: [0, 1] })(x, x);
    expectClose(ga, x.square());
    expectClose(gb, x.square().mul(2));
  });

  it("the same tensor at two leaves of one tree gets two separate gradients", () => {
    const x = randn([3], 314);
    const g = grad((p: { a: Tensor; b: Tensor }) => p.a.mul(3).add(p.b).sum())({ a: x, b: x });
    expectClose(g.a, [3, 3, 3]);
    expectClose(g.b, [1, 1, 1]);
  });

  it("a differentiated tensor also passed in a non-differentiated argument is a constant there", () => {
    const x = randn([3], 315);
    expectClose(grad((a: Tensor, c: Tensor) => a.mul(c).sum())(x, x), x);
  });

  it("gradients of different leaves are different tensors: disposing one leaves the others usable", () => {
    const x = randn([3], 316);
    const y = randn([3], 317);
    const [gx, gy] = grad((a: Tensor, b: Tensor) => a.add(b).sum(), { argnums: [0, 1] })(x, y);
    expect(gx).not.toBe(gy);
    gx.dispose();
    expectClose(gy, [1, 1, 1]);
    const g = grad((p: Tensor[]) => p[0]!.add(p[1]!).add(p[2]!).sum())([x, x, y]);
    g[0].dispose();
    g[1].dispose();
    expectClose(g[2], [1, 1, 1]);
  });

  it("an input that f does not use gets zeros of its shape and dtype", () => {
    const [ga, gb] = grad((a: Tensor, _unused: Tensor) => a.sum(), { argnums: [0, 1] })(f64([1, 2]), T.tensor([[1, 2, 3]]));
    expectClose(ga, [1, 1]);
    expect(gb.shape).toEqual([1, 3]);
    expect(gb.dtype).toBe("float32");
    expectClose(gb, [0, 0, 0]);
  });
});

describe("argnums", () => {
  const f = (a: Tensor, b: Tensor, c: Tensor): Tensor => a.sum().mul(2).add(b.sum().mul(3)).add(c.sum().mul(5));
  const args = (): [Tensor, Tensor, Tensor] => [f64([1]), f64([1, 1]), f64([1, 1, 1])];

  it("defaults to 0 and returns the gradient itself", () => {
    const g = grad(f)(...args());
    expect(Array.isArray(g)).toBe(false);
    expectClose(g, [2]);
  });
  it("a number returns that argument's gradient", () => expectClose(grad(f, { argnums: 2 })(...args()), [5, 5, 5]));
  it("an array returns a tuple in the order asked", () => {
    const g = grad(f, { argnums: [2, 0] })(...args());
    expect(g).toHaveLength(2);
    expectClose(g[0], [5, 5, 5]);
    expectClose(g[1], [2]);
  });
  it("a one-element array still returns a tuple", () => {
    const g = grad(f, { argnums: [1] })(...args());
    expect(g).toHaveLength(1);
    expectClose(g[0], [3, 3]);
  });
  it("out of range is a clear error", () => {
    expect(() => grad(f, { argnums: 3 })(...args())).toThrow(/argnums 3 is out of range.*3 arguments/);
    expect(() => grad(f, { argnums: [-1] })(...args())).toThrow(/argnums -1 is out of range/);
  });
  it("a repeated entry is a clear error (not a silently zero gradient)", () => {
    expect(() => grad(f, { argnums: [0, 0] })(...args())).toThrow(/repeat/);
  });
  it("valueAndGrad returns the value beside the gradients", () => {
    const [v, [ga, gc]] = valueAndGrad(f, { argnums: [0, 2] })(...args());
    expect(v.item()).toBe(2 + 6 + 15);
    expectClose(ga, [2]);
    expectClose(gc, [5, 5, 5]);
  });
});

describe("trees of parameters", () => {
  it("a nested object/array tree gives a gradient tree of the same structure", () => {
    const params = { layers: [{ w: f64([1, 2]), b: f64([3]) }, { w: f64([4, 5]), b: f64([6]) }], scale: f64([2]) };
    const f = (p: typeof params): Tensor => {
      let s = p.scale.sum();
      for (const l of p.layers) s = s.add(l.w.square().sum().mul(p.scale.sum())).add(l.b.sum());
      return s;
    };
    const g = grad(f)(params);
    expect(Object.keys(g)).toEqual(["layers", "scale"]);
    expect(g.layers).toHaveLength(2);
    expect(Object.keys(g.layers[0])).toEqual(["w", "b"]);
    expectClose(g.layers[0].w, [4, 8]);
    expectClose(g.layers[1].w, [16, 20]);
    expectClose(g.layers[0].b, [1]);
    expectClose(g.layers[1].b, [1]);
    // d/dscale = 1 + Σ w²
    expectClose(g.scale, [1 + 1 + 4 + 16 + 25]);
    expect(g.layers[0].w.shape).toEqual([2]);
  });

  it("trees in several differentiated arguments, and an array at the root", () => {
    const [ga, gb] = grad((a: Tensor[], b: { x: Tensor }) => a[0]!.mul(a[1]!).mul(b.x).sum(), { argnums: [0, 1] })([f64([2]), f64([3])], { x: f64([5]) });
    expectClose(ga[0], [15]);
    expectClose(ga[1], [10]);
    expectClose(gb.x, [6]);
  });

  it("an empty tree gives an empty tree", () => {
    const [ga, gb] = grad((_a: Tensor[], b: Tensor) => b.sum(), { argnums: [0, 1] })([], f64([1]));
    expect(ga).toEqual([]);
    expectClose(gb, [1]);
  });
});

describe("hasAux", () => {
  it("valueAndGrad passes aux through untouched", () => {
    const x = f64([1, 2, 3]);
    const f = (t: Tensor): [Tensor, { sq: Tensor; note: string; n: number }] => {
      const sq = t.square();
      return [sq.sum(), { sq, note: "hello", n: 7 }];
    };
    const [[value, aux], g] = valueAndGrad(f, { hasAux: true })(x);
    expect(value.item()).toBe(14);
    expect(aux.note).toBe("hello");
    expect(aux.n).toBe(7);
    expectClose(aux.sq, [1, 4, 9]);
    expectClose(g, [2, 4, 6]);
  });

  it("grad with hasAux returns [gradient, aux] (as JAX does)", () => {
    const [g, aux] = grad((t: Tensor) => [t.square().sum(), t.mul(10)], { hasAux: true })(f64([1, 2]));
    expectClose(g, [2, 4]);
    expectClose(aux, [10, 20]);
  });

  it("hasAux with f not returning a [loss, aux] pair is a clear error", () => {
    expect(() => valueAndGrad((t: Tensor) => t.sum(), { hasAux: true })(f64([1]))).toThrow(/\[loss, aux\]/);
  });
});

describe("blocking gradients", () => {
  it("stopGradient and detach make a constant: d/dx Σ x·sg(x) = x", () => {
    const x = randn([4], 331);
    expectClose(grad((t: Tensor) => t.mul(stopGradient(t)).sum())(x), x);
    expectClose(grad((t: Tensor) => t.mul(t.detach()).sum())(x), x);
    expectClose(grad((t: Tensor) => T.stopGradient(t.exp()).sum().add(t.sum()))(x), [1, 1, 1, 1]);
  });

  it("isRecording is false inside noGrad only", () => {
    expect(isRecording()).toBe(true);
    expect(noGrad(() => isRecording())).toBe(false);
    expect(isRecording()).toBe(true);
  });

  it("noGrad inside f makes its results constants", () => {
    const x = randn([4], 332);
    expectClose(grad((t: Tensor) => t.mul(noGrad(() => t.square())).sum())(x), x.square());
  });

  it("a gradient computed inside noGrad is still right (noGrad only hides it from outer tapes)", () => {
    const x = randn([3], 333);
    const g = noGrad(() => grad((t: Tensor) => t.square().sum())(x));
    expectClose(g, x.mul(2));
  });

  it("noGrad inside f blocks the outer but not an inner grad", () => {
    const x = f64([2]);
    // Outer: d/dx [x · noGrad(d/dy y³ at x)] = 3x² (the noGrad part is a constant).
    const g = grad((t: Tensor) => t.mul(noGrad(() => grad((y: Tensor) => y.pow(3).sum())(t))).sum())(x);
    expectClose(g, [12]);
  });
});

describe("errors", () => {
  it("a non-scalar output is a clear error", () => {
    expect(() => grad((t: Tensor) => t.square())(f64([1, 2]))).toThrow(/f must return a scalar float tensor, got a float64 tensor of shape \[2\]/);
  });
  it("an integer or non-tensor output is a clear error", () => {
    expect(() => grad((t: Tensor) => t.argmax())(f64([1, 2]))).toThrow(/scalar float tensor, got a int32/);
    expect(() => grad((t: Tensor) => t.sum().item() as unknown as Tensor)(f64([1, 2]))).toThrow(/scalar float tensor, got number/);
  });
  it("a one-element non-0-d output is accepted", () => {
    expectClose(grad((t: Tensor) => t.sum(0, true))(f64([1, 2])), [1, 1]);
  });
  it("an error thrown by f leaves no buffers behind", () => {
    const x = randn([8], 341);
    const before = memoryStats().liveBuffers;
    for (let i = 0; i < 5; i++) {
      expect(() =>
        grad((t: Tensor) => {
          t.exp().square().sum();
          throw new Error("boom");
        })(x),
      ).toThrow("boom");
      expect(() => grad((t: Tensor) => t.exp())(x)).toThrow(/scalar/);
    }
    expect(memoryStats().liveBuffers).toBe(before);
  });
});

describe("values and scopes", () => {
  it("grad does not dispose a tensor that f returns without having made it", () => {
    const c = f64([4]).reshape([]).keep();
    const x = f64([1]);
    const g = grad((_t: Tensor, k: Tensor) => k)(x, c);
    expectClose(g, [0]);
    expect(c.isDisposed).toBe(false);
    expect(c.item()).toBe(4);
  });
  it("value, gradients and aux survive the call and nothing else does", () => {
    const x = randn([16], 351);
    const vg = valueAndGrad((t: Tensor) => [t.exp().mul(t.sin()).sum(), t.max()], { hasAux: true });
    tidy(() => vg(x)); // warm-up (nothing lazily cached is counted below)
    const before = memoryStats().liveBuffers;
    const out = tidy(() => vg(x));
    // value, aux and gradient: three buffers.
    expect(memoryStats().liveBuffers).toBe(before + 3);
    T.dispose(out);
    expect(memoryStats().liveBuffers).toBe(before);
  });
  it("a 0-d input gets a 0-d gradient", () => {
    const g = grad((t: Tensor) => t.mul(t))(f64([3]).reshape([])) as Tensor;
    expect(g.shape).toEqual([]);
    expect(g.item()).toBe(6);
  });
  it("f returning its (scalar) input: gradient 1", () => {
    expect((grad((t: Tensor) => t)(f64([3]).reshape([])) as Tensor).item()).toBe(1);
  });
  it("repeated calls of one grad function give the same result", () => {
    const x = randn([5], 352);
    const df = grad((t: Tensor) => t.tanh().sum());
    expectClose(df(x), df(x), 0);
  });
});
