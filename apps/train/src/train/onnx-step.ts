import { valueAndGrad } from "@equigrad/autograd";
import { functionalCall } from "@equigrad/nn";
import { step, type Param, type State, type Transform } from "@equigrad/optim";
import { Tensor, stack, treeFlatten, type InputSpec, type StepFunction } from "@equigrad/tensor";
import type { Transformer } from "@equigrad/models";
import type { Instrumented } from "./instrument.js";

/** Graph outputs carrying the update RMS of each optimizer table entry: `update_rms:<label>`. */
export const UPDATE_RMS = "update_rms:";

/**
 * The training step of step.ts as a function a compiler can trace: the batch comes in as two
 * int32 tensors [gradAccum, micro, seqLen] (inputs, targets), the optimizer state's numbers
 * (step counts) are the host state threaded from step to step, and loss and gradient norm are
 * returned as tensors instead of being read on the host. An instrumented optimizer adds the
 * update RMS of each table entry as outputs (a squared sum per parameter per step).
 */
export function tracedStep<S extends State>(model: Transformer, params: readonly Param[], optimizer: Transform<S>, clip: number): StepFunction<S> {
  return (state, [inputs, targets]) => {
    const record = Object.fromEntries(params.map((p) => [p.path, p.value]));
    const lossAndGrad = valueAndGrad((p: Record<string, Tensor>, x: Tensor, y: Tensor) => functionalCall(model, p, () => model.loss(x, y)));
    const micro = inputs!.shape[0]!;
    let total: Tensor | null = null;
    let grads: Record<string, Tensor> = {};
    for (let i = 0; i < micro; i++) {
      const [loss, g] = lossAndGrad(record, inputs!.slice(i), targets!.slice(i)) as [Tensor, Record<string, Tensor>];
      total = total ? total.add(loss) : loss;
      grads = total === loss ? g : Object.fromEntries(Object.entries(grads).map(([k, v]) => [k, v.add(g[k]!)]));
    }
    if (micro > 1) {
      grads = Object.fromEntries(Object.entries(grads).map(([k, v]) => [k, v.div(micro)]));
      total = total!.div(micro);
    }
    const instrumented = "takeTensors" in optimizer ? (optimizer as Transform<S> & Instrumented) : null;
    instrumented?.arm("tensors");
    const r = step(optimizer, params, grads, state, clip > 0 ? { maxGradNorm: clip } : { gradNorm: true });
    instrumented?.arm(false);
    // MoE: expert assignment counts of the last forward pass, per layer [L, E], for the router metrics.
    const counts = model.moeLayers().map((m) => m.lastRouting?.counts);
    const outputs: Record<string, Tensor> = { loss: total!, grad_norm: r.gradNorm! };
    if (counts.length && counts.every((c) => c !== undefined)) outputs.moe_counts = stack(counts as Tensor[], 0);
    for (const [label, rms] of Object.entries(instrumented?.takeTensors() ?? {})) outputs[UPDATE_RMS + label] = rms;
    return { host: r.state, outputs };
  };
}

/** The long-lived tensors a compiled step reads and writes: the parameters, then the optimizer state's tensors. */
export function longLived(params: readonly Param[], state: State): Tensor[] {
  const [leaves] = treeFlatten(state as never);
  return [...params.map((p) => p.value), ...(leaves as unknown[]).filter((l): l is Tensor => l instanceof Tensor)];
}

/** The batch inputs of a compiled step. */
export const batchSpecs = (gradAccum: number, micro: number, seqLen: number): InputSpec[] => [
  { name: "inputs", shape: [gradAccum, micro, seqLen], dtype: "int32" },
  { name: "targets", shape: [gradAccum, micro, seqLen], dtype: "int32" },
];
