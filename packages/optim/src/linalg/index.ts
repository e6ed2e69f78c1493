/** Shared linear-algebra kernels of the matrix optimizers (float32/float64, 2-D or batched). */
export {
  KELLER, POLAR_EXPRESS, POLAR_EXPRESS_RAW, PE_SAFETY_105, ROOT_TABLE, POLAR_EXPRESS_NORM,
  resolveCoefficients, checkTriples, isCoefficients, type Coefficients, type CoefficientName, type Triple,
} from "./coefficients.js";
export { newtonSchulz, type NewtonSchulzOptions } from "./newton-schulz.js";
export { gramNewtonSchulz, type GramNewtonSchulzOptions } from "./gram-newton-schulz.js";
export { invSqrtSym, type InvSqrtMethod, type InvSqrtOptions } from "./inv-sqrt.js";
export { polar, polarWithNu, type PolarImpl, type PolarOptions, type PolarResult } from "./polar.js";
export { centerRows, rowNormalize } from "./rows.js";
export { orient, unorient, ORIENTATIONS, type Orientation } from "./orient.js";
export { splitHeads, mergeHeads, headLayoutOf, type HeadLayout } from "./heads.js";
export { nuclearScale, frobenius, transposeLast, checkMatrix } from "./matrix.js";
