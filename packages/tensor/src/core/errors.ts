import type { Shape } from "./shape.js";

/** A misuse of an op: wrong shapes, dtypes or arguments. The message names the op and the operands. */
export class OpError extends Error {
  constructor(op: string, message: string) {
    super(`${op}: ${message}`);
    this.name = "OpError";
  }
}

export const fmtShape = (s: Shape): string => `[${s.join(", ")}]`;
