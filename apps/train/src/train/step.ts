import { noGrad, valueAndGrad } from "@equigrad/autograd";
import { functionalCall } from "@equigrad/nn";
import { step, type Param, type State, type Transform } from "@equigrad/optim";
import { tidy, type Tensor } from "@equigrad/tensor";
import type { Transformer } from "@equigrad/models";

export interface Batch {
  input: Tensor;
  target: Tensor;
}

export interface StepOutcome<S extends State> {
  /** Mean loss over the micro-batches (with MoE auxiliary losses, as optimized). */
  loss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  state: S;
}

/**
 * One optimizer step: forward + backward over the micro-batches (gradients averaged),
 * clipping, the update applied in place. Everything the step allocates is released.
 */
export function trainStep<S extends State>(model: Transformer, params: readonly Param[], optimizer: Transform<S>, state: S, micro: readonly Batch[], clip: number): StepOutcome<S> {
  return tidy(() => {
    const record = Object.fromEntries(params.map((p) => [p.path, p.value]));
    const lossAndGrad = valueAndGrad((p: Record<string, Tensor>, x: Tensor, y: Tensor) => functionalCall(model, p, () => model.loss(x, y)));
    let total: Tensor | null = null;
    let grads: Record<string, Tensor> = {};
    for (const mb of micro) {
      const [loss, g] = lossAndGrad(record, mb.input, mb.target) as [Tensor, Record<string, Tensor>];
      total = total ? total.add(loss) : loss;
      grads = total === loss ? g : Object.fromEntries(Object.entries(grads).map(([k, v]) => [k, v.add(g[k]!)]));
    }
    if (micro.length > 1) {
      grads = Object.fromEntries(Object.entries(grads).map(([k, v]) => [k, v.div(micro.length)]));
      total = total!.div(micro.length);
    }
    const r = step(optimizer, params, grads, state, clip > 0 ? { maxGradNorm: clip } : { gradNorm: true });
    return { loss: total!.item(), gradNorm: r.gradNorm!.item(), state: r.state };
  });
}

/** Mean cross-entropy (no auxiliary losses) over the given batches, without gradients, in evaluation mode (no dropout). */
export function evaluate(model: Transformer, batches: Iterable<Batch>): number {
  const training = model.training;
  model.eval();
  try {
    return noGrad(() => {
      let sum = 0;
      let n = 0;
      for (const b of batches) {
        sum += tidy(() => model.loss(b.input, b.target, { aux: false }).item());
        n++;
      }
      return sum / n;
    });
  } finally {
    model.train(training);
  }
}
