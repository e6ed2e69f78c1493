import type { Graph, Port } from "./ir.js";
import { GraphBuilder, attr, onnxType } from "./onnx/builder.js";
import { lowerInto, modelOf, valueInfo } from "./onnx/lower.js";
import { ONNX_TYPE, encodeModel } from "./onnx/proto.js";

export interface LoopSpec {
  /** [input, output] name pairs of the step graph carried from one iteration to the next (the flat buffers). */
  readonly carried: readonly (readonly [string, string])[];
}

/**
 * The ONNX model that runs a step graph K times in one `Loop`: carried inputs (parameters and
 * state) flow from each iteration's outputs into the next; every other input gets a leading
 * K axis and iteration k reads row k (its batch, its lifted scalars); every other output is a
 * scan output stacked over the K steps. Final carried values come out under the step's output
 * names, so a K-step model has the same ports as a 1-step one, with K-stacked per-step data.
 */
export function loopModel(step: Graph, k: number, spec: LoopSpec): Uint8Array {
  const carriedIn = new Map(spec.carried.map(([i, o]) => [i, o]));
  const carriedOut = new Set(spec.carried.map(([, o]) => o));
  const port = (name: string, ports: readonly Port[]): Port => {
    const p = ports.find((q) => q.name === name);
    if (!p) throw new Error(`loopModel: the step graph has no port '${name}'`);
    return p;
  };
  for (const [i, o] of spec.carried) {
    const a = step.values[port(i, step.inputs).value]!;
    const b = step.values[port(o, step.outputs).value]!;
    if (a.dtype !== b.dtype || a.shape.join() !== b.shape.join()) throw new Error(`loopModel: carried '${i}' and '${o}' differ in shape or dtype`);
  }

  // The body: (iteration, condition, carried...) → (condition, carried..., per-step outputs...).
  const body = new GraphBuilder("body_");
  body.inputs.push({ name: "body_iter", elemType: ONNX_TYPE.int64, shape: [] }, { name: "body_cond", elemType: ONNX_TYPE.bool, shape: [] });
  const stepped = step.inputs.filter((p) => !carriedIn.has(p.name));
  for (const p of step.inputs) if (carriedIn.has(p.name)) body.inputs.push(valueInfo(`body_${p.name}`, step.values[p.value]!));
  // Iteration k's row of each stepped input, read from the outer graph's [K, ...] input.
  const rows = new Map(stepped.map((p) => [p.name, body.op("Gather", [p.name, "body_iter"], [attr.int("axis", 0)], `body_${p.name}_k`)]));
  const names = lowerInto(body, step, (p) => (carriedIn.has(p.name) ? `body_${p.name}` : rows.get(p.name)!));
  body.op("Identity", ["body_cond"], [], "body_cond_out");
  body.outputs.push({ name: "body_cond_out", elemType: ONNX_TYPE.bool, shape: [] });
  const perStep = step.outputs.filter((p) => !carriedOut.has(p.name));
  const bodyOuts = [...step.outputs.filter((p) => carriedOut.has(p.name)), ...perStep];
  for (const p of bodyOuts) {
    body.op("Identity", [names.get(p.value)!], [], `body_out_${p.name}`);
    body.outputs.push(valueInfo(`body_out_${p.name}`, step.values[p.value]!));
  }
  // Carried outputs in the order of the carried inputs.
  const carriedOrder = step.inputs.filter((p) => carriedIn.has(p.name)).map((p) => carriedIn.get(p.name)!);
  body.outputs.splice(1, carriedOrder.length, ...carriedOrder.map((o) => body.outputs.find((v) => v.name === `body_out_${o}`)!));

  const main = new GraphBuilder();
  for (const p of step.inputs) {
    const m = step.values[p.value]!;
    main.inputs.push(carriedIn.has(p.name) ? valueInfo(p.name, m) : { name: p.name, elemType: onnxType(m.dtype), shape: [k, ...m.shape] });
  }
  const trip = main.i64Scalar(k);
  const cond = main.scalar("bool", 1);
  const loopIns = step.inputs.filter((p) => carriedIn.has(p.name)).map((p) => p.name);
  const outs = [...carriedOrder, ...perStep.map((p) => p.name)];
  main.opN("Loop", [trip, cond, ...loopIns], outs, [attr.graph("body", body.graph("step"))]);
  for (const o of carriedOrder) main.outputs.push(valueInfo(o, step.values[port(o, step.outputs).value]!));
  for (const p of perStep) {
    const m = step.values[p.value]!;
    main.outputs.push({ name: p.name, elemType: onnxType(m.dtype), shape: [k, ...m.shape] });
  }
  return encodeModel(modelOf(main.graph("equigrad_steps")));
}
