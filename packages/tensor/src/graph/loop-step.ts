import type { Graph, GraphNode, Port } from "./ir.js";
import { GraphBuilder, attr, onnxType } from "./onnx/builder.js";
import { lowerInto, modelOf, valueInfo } from "./onnx/lower.js";
import { ONNX_TYPE, encodeModel } from "./onnx/proto.js";

export interface LoopSpec {
  /** [input, output] name pairs of the step graph carried from one iteration to the next (the flat buffers). */
  readonly carried: readonly (readonly [string, string])[];
}

/** A carried flat buffer split into its pieces: sliced once before the Loop, concatenated once after. */
interface Pieces {
  readonly input: string;
  readonly output: string;
  /** [start, end) of each piece in the flat buffer, and the step graph ports that carry it. */
  readonly parts: readonly { start: number; end: number; input: string; output: string }[];
}

/**
 * Moves the slicing of each carried flat input and the concatenation of its flat output out of
 * the step (when the step has that form, as compile's recordings do): the Loop then carries the
 * pieces, and the flat buffers are split and joined once per call instead of once per step.
 */
function splitCarried(step: Graph, carried: readonly (readonly [string, string])[]): { graph: Graph; pieces: Pieces[]; rest: (readonly [string, string])[] } {
  const removed = new Set<GraphNode>();
  const inputs: Port[] = [];
  const outputs: Port[] = [];
  const pieces: Pieces[] = [];
  const rest: (readonly [string, string])[] = [];
  for (const [inName, outName] of carried) {
    const inVal = step.inputs.find((p) => p.name === inName)!.value;
    const outVal = step.outputs.find((p) => p.name === outName)!.value;
    const readers = step.nodes.filter((n) => n.inputs.includes(inVal));
    const concat = step.nodes.find((n) => n.output === outVal);
    const slices = readers
      .map((n) => (n.call.op === "slice" && n.call.steps[0] === 1 && n.inputs.length === 1 ? { node: n, start: n.call.starts[0]!, end: n.call.starts[0]! + n.call.shape[0]! } : null))
      .sort((a, b) => (a?.start ?? 0) - (b?.start ?? 0));
    const fits =
      concat?.call.op === "concat" &&
      slices.every((s) => s !== null) &&
      slices.length === concat.inputs.length &&
      slices.every((s, i) => s!.start === (i === 0 ? 0 : slices[i - 1]!.end) && step.values[concat.inputs[i]!]!.shape[0] === s!.end - s!.start);
    if (!fits) {
      rest.push([inName, outName]);
      continue;
    }
    removed.add(concat!);
    const parts = slices.map((s, i) => {
      removed.add(s!.node);
      const part = { start: s!.start, end: s!.end, input: `${inName}_${i}`, output: `${outName}_${i}` };
      inputs.push({ name: part.input, value: s!.node.output });
      outputs.push({ name: part.output, value: concat!.inputs[i]! });
      return part;
    });
    pieces.push({ input: inName, output: outName, parts });
  }
  const split = new Set(pieces.flatMap((p) => [p.input, p.output]));
  const graph: Graph = {
    ...step,
    inputs: [...step.inputs.filter((p) => !split.has(p.name)), ...inputs],
    outputs: [...step.outputs.filter((p) => !split.has(p.name)), ...outputs],
    nodes: step.nodes.filter((n) => !removed.has(n)),
  };
  return { graph, pieces, rest };
}

/**
 * The ONNX model that runs a step graph K times in one `Loop`: carried inputs (parameters and
 * state) flow from each iteration's outputs into the next; every other input gets a leading
 * K axis and iteration k reads row k (its batch, its lifted scalars); every other output is a
 * scan output stacked over the K steps. Final carried values come out under the step's output
 * names, so a K-step model has the same ports as a 1-step one, with K-stacked per-step data.
 */
export function loopModel(original: Graph, k: number, spec: LoopSpec): Uint8Array {
  const port = (name: string, ports: readonly Port[]): Port => {
    const p = ports.find((q) => q.name === name);
    if (!p) throw new Error(`loopModel: the step graph has no port '${name}'`);
    return p;
  };
  for (const [i, o] of spec.carried) {
    const a = original.values[port(i, original.inputs).value]!;
    const b = original.values[port(o, original.outputs).value]!;
    if (a.dtype !== b.dtype || a.shape.join() !== b.shape.join()) throw new Error(`loopModel: carried '${i}' and '${o}' differ in shape or dtype`);
  }
  const { graph: step, pieces, rest } = splitCarried(original, spec.carried);
  const carried = [...rest, ...pieces.flatMap((p) => p.parts.map((q) => [q.input, q.output] as const))];
  const carriedIn = new Map(carried.map(([i, o]) => [i, o]));
  const carriedOut = new Set(carried.map(([, o]) => o));

  // The body: (iteration, condition, carried...) → (condition, carried..., per-step outputs...).
  const body = new GraphBuilder("body_");
  body.inputs.push({ name: "body_iter", elemType: ONNX_TYPE.int64, shape: [] }, { name: "body_cond", elemType: ONNX_TYPE.bool, shape: [] });
  const stepped = step.inputs.filter((p) => !carriedIn.has(p.name));
  const carriedInputs = step.inputs.filter((p) => carriedIn.has(p.name));
  for (const p of carriedInputs) body.inputs.push(valueInfo(`body_${p.name}`, step.values[p.value]!));
  // Iteration k's row of each stepped input, read from the outer graph's [K, ...] input.
  const rows = new Map(stepped.map((p) => [p.name, body.op("Gather", [p.name, "body_iter"], [attr.int("axis", 0)], `body_${p.name}_k`)]));
  // The lifted random counters too: [K, size] int64 outside, row k in iteration k.
  if (step.counters) rows.set(step.counters.input, body.op("Gather", [step.counters.input, "body_iter"], [attr.int("axis", 0)], `body_${step.counters.input}_k`));
  const names = lowerInto(body, step, (p) => (carriedIn.has(p.name) ? `body_${p.name}` : rows.get(p.name)!));
  body.op("Identity", ["body_cond"], [], "body_cond_out");
  body.outputs.push({ name: "body_cond_out", elemType: ONNX_TYPE.bool, shape: [] });
  // Carried outputs in the order of the carried inputs, then the per-step (scan) outputs.
  const carriedOrder = carriedInputs.map((p) => carriedIn.get(p.name)!);
  const perStep = step.outputs.filter((p) => !carriedOut.has(p.name));
  for (const p of [...carriedOrder.map((o) => port(o, step.outputs)), ...perStep]) {
    body.op("Identity", [names.get(p.value)!], [], `body_out_${p.name}`);
    body.outputs.push(valueInfo(`body_out_${p.name}`, step.values[p.value]!));
  }

  const main = new GraphBuilder();
  for (const p of original.inputs) {
    const m = original.values[p.value]!;
    const isCarried = spec.carried.some(([i]) => i === p.name);
    main.inputs.push(isCarried ? valueInfo(p.name, m) : { name: p.name, elemType: onnxType(m.dtype), shape: [k, ...m.shape] });
  }
  if (original.counters) main.inputs.push({ name: original.counters.input, elemType: ONNX_TYPE.int64, shape: [k, original.counters.size] });
  // Split flat buffers into their pieces once, before the loop.
  for (const pc of pieces) for (const q of pc.parts) main.op("Slice", [pc.input, main.i64([q.start]), main.i64([q.end])], [], q.input);
  const trip = main.i64Scalar(k);
  const cond = main.scalar("bool", 1);
  main.opN("Loop", [trip, cond, ...carriedInputs.map((p) => p.name)], [...carriedOrder, ...perStep.map((p) => p.name)], [attr.graph("body", body.graph("step"))]);
  // And join them once, after it.
  for (const pc of pieces) main.op("Concat", pc.parts.map((q) => q.output), [attr.int("axis", 0)], pc.output);
  for (const [, o] of spec.carried) main.outputs.push(valueInfo(o, original.values[port(o, original.outputs).value]!));
  for (const p of perStep) {
    const m = step.values[p.value]!;
    main.outputs.push({ name: p.name, elemType: onnxType(m.dtype), shape: [k, ...m.shape] });
  }
  return encodeModel(modelOf(main.graph("equigrad_steps")));
}
