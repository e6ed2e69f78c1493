import type { CallOf, PrimitiveCall, PrimitiveName, Tensor } from "@equigrad/tensor";

/** What a VJP rule sees of the op it differentiates. */
export interface VjpContext<C extends PrimitiveCall = PrimitiveCall> {
  readonly call: C;
  readonly inputs: readonly Tensor[];
  readonly output: Tensor;
}

/** Maps the output's cotangent to one cotangent per input (null: no gradient flows there). */
export type VjpRule<C extends PrimitiveCall = PrimitiveCall> = (g: Tensor, ctx: VjpContext<C>) => (Tensor | null)[];

export type VjpTable = { [N in PrimitiveName]?: VjpRule<CallOf<N>> };
