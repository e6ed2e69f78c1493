import type { PrimitiveName } from "@equigrad/tensor";
import { elementwiseRules } from "./elementwise.js";
import { fusedRules } from "./fused.js";
import { reduceRules } from "./reduce.js";
import type { VjpRule, VjpTable } from "./rule.js";
import { structuralRules } from "./structural.js";

/** Every differentiable primitive's VJP rule, in one table. */
export const VJP_RULES: VjpTable = { ...elementwiseRules, ...reduceRules, ...structuralRules, ...fusedRules };

export function ruleFor(op: PrimitiveName): VjpRule {
  const rule = VJP_RULES[op] as VjpRule | undefined;
  if (!rule) throw new Error(`autograd: no VJP rule for primitive '${op}'`);
  return rule;
}
