export { grad, valueAndGrad, type GradOptions } from "./grad.js";
export { gradcheck, type GradcheckOptions, type GradcheckResult } from "./gradcheck.js";
export { noGrad, Tape, isRecording, type Node } from "./tape.js";
export { backward } from "./backward.js";
export { VJP_RULES, ruleFor } from "./rules/index.js";
export type { VjpRule, VjpContext, VjpTable } from "./rules/rule.js";
export { sumToShape } from "./rules/util.js";
export { stopGradient } from "@equigrad/tensor";
