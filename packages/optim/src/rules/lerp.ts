// torch's lerp rounding lives with the fused AdamW update in tensor; rules share that one.
export { lerp } from "@equigrad/tensor";
