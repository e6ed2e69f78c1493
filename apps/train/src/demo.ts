/**
 * The first end-to-end job, until the `train` CLI lands: a character-level MLP language model
 * (Bengio et al. 2003, bytes as characters) trained with Adam on the State of the Union corpus,
 * through the public API only. Prints the train loss, the validation loss in bits per byte,
 * and a sample.
 */
import { Rng, Tensor, crossEntropy, fromTypedArray, indexSelect, memoryStats, tidy, treeMap, zerosLike, type Tree } from "@equigrad/tensor";
import { valueAndGrad } from "@equigrad/autograd";
import { loadSotu, splitByYear } from "./data/sotu.js";

const CONTEXT = 4;
const EMBED = 24;
const HIDDEN = 128;
const BATCH = 128;
const STEPS = Number(process.env.DEMO_STEPS ?? 3000);
const LR = 3e-3;
const VOCAB = 256;

type Params = { embed: Tensor; w1: Tensor; b1: Tensor; w2: Tensor; b2: Tensor };

function init(rng: Rng): Params {
  const p = {
    embed: rng.normal([VOCAB, EMBED], 0, 1),
    w1: rng.normal([CONTEXT * EMBED, HIDDEN], 0, 1 / Math.sqrt(CONTEXT * EMBED)),
    b1: rng.normal([HIDDEN], 0, 0),
    w2: rng.normal([HIDDEN, VOCAB], 0, 0.1 / Math.sqrt(HIDDEN)),
    b2: rng.normal([VOCAB], 0, 0),
  };
  for (const t of Object.values(p)) t.keep();
  return p;
}

function logits(p: Params, context: Tensor): Tensor {
  const emb = indexSelect(p.embed, context, 0).reshape(context.shape[0]!, CONTEXT * EMBED);
  return emb.matmul(p.w1).add(p.b1).tanh().matmul(p.w2).add(p.b2);
}

const loss = (p: Params, context: Tensor, target: Tensor): Tensor => crossEntropy(logits(p, context), target);

/** A batch of (context, next byte) pairs at positions drawn from `rng`. */
function batch(bytes: Uint8Array, n: number, rng: Rng): [Tensor, Tensor] {
  const starts = rng.uniform([n], 0, 1, "float64").data();
  const ctx = new Int32Array(n * CONTEXT);
  const tgt = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const s = Math.floor(starts[i]! * (bytes.length - CONTEXT - 1));
    for (let j = 0; j < CONTEXT; j++) ctx[i * CONTEXT + j] = bytes[s + j]!;
    tgt[i] = bytes[s + CONTEXT]!;
  }
  return [fromTypedArray(ctx, [n, CONTEXT], "int32"), fromTypedArray(tgt, [n], "int32")];
}

/** Adam (Kingma & Ba) on a parameter tree, updating in place with `assign`. */
function adam(params: Params, lr: number) {
  const m = treeMap((p: Tensor) => zerosLike(p).keep(), params) as Params;
  const v = treeMap((p: Tensor) => zerosLike(p).keep(), params) as Params;
  let t = 0;
  return (grads: Params) => {
    t++;
    const [b1, b2] = [0.9, 0.999];
    for (const k of Object.keys(params) as (keyof Params)[]) {
      tidy(() => {
        m[k].assign(m[k].mul(b1).add(grads[k].mul(1 - b1)));
        v[k].assign(v[k].mul(b2).add(grads[k].square().mul(1 - b2)));
        const mhat = m[k].div(1 - b1 ** t);
        const vhat = v[k].div(1 - b2 ** t);
        params[k].assign(params[k].sub(mhat.div(vhat.sqrt().add(1e-8)).mul(lr)));
      });
    }
  };
}

function sample(p: Params, rng: Rng, prompt: string, n: number): string {
  const out = [...Buffer.from(prompt)];
  for (let i = 0; i < n; i++) {
    const next = tidy(() => {
      const ctx = fromTypedArray(Int32Array.from(out.slice(-CONTEXT)), [1, CONTEXT], "int32");
      const probs = logits(p, ctx).softmax(-1).data();
      let u = rng.uniform([1], 0, 1, "float64").item();
      let c = 0;
      while (c < VOCAB - 1 && (u -= probs[c]!) > 0) c++;
      return c;
    });
    out.push(next);
  }
  return Buffer.from(out).toString("utf8");
}

function main(): void {
  const { train, val } = splitByYear(loadSotu());
  const trainBytes = new Uint8Array(Buffer.from(train));
  const valBytes = new Uint8Array(Buffer.from(val));
  console.log(`corpus: ${(trainBytes.length / 1e6).toFixed(1)} MB train (1790–2006), ${(valBytes.length / 1e6).toFixed(2)} MB validation (2007–2021)`);
  const rng = new Rng(1337);
  const params = init(rng.fork("init"));
  const step = adam(params, LR);
  const dataRng = rng.fork("data");
  const [valCtx, valTgt] = batch(valBytes, 2048, rng.fork("val"));
  valCtx.keep();
  valTgt.keep();
  const lossAndGrad = valueAndGrad(loss);
  const evaluate = () => tidy(() => loss(params, valCtx, valTgt).item());
  console.log(`step     0  val ${(evaluate() / Math.LN2).toFixed(3)} bits/byte`);
  const t0 = performance.now();
  let avg = 0;
  for (let s = 1; s <= STEPS; s++) {
    tidy(() => {
      const [ctx, tgt] = batch(trainBytes, BATCH, dataRng);
      const [l, grads] = lossAndGrad(params, ctx, tgt) as [Tensor, Tree];
      step(grads as unknown as Params);
      avg = s === 1 ? l.item() : 0.95 * avg + 0.05 * l.item();
    });
    if (s % 250 === 0 || s === STEPS) {
      const secs = (performance.now() - t0) / 1000;
      const extra = s % 500 === 0 || s === STEPS ? `  val ${(evaluate() / Math.LN2).toFixed(3)} bits/byte` : "";
      console.log(`step ${String(s).padStart(5)}  train ${(avg / Math.LN2).toFixed(3)} bits/byte${extra}  ${((s * BATCH) / secs).toFixed(0)} samples/s  live buffers ${memoryStats().liveBuffers}`);
    }
  }
  console.log(`\nsample: ${JSON.stringify(sample(params, rng.fork("sample"), "The ", 200))}`);
}

main();
