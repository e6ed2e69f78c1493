/** One Newton–Schulz step's odd polynomial: X ← a·X + b·(XXᵀ)X + c·(XXᵀ)²X. */
export type Triple = readonly [number, number, number];

/** Named coefficient sets (OPTIMIZERS.md §1.8, §2, §6). */
export type CoefficientName = "keller" | "polar_express" | "pe_safety_1.05" | "root";

/** A named set or an explicit list of [a, b, c] triples (the last repeats if steps exceed it). */
export type Coefficients = CoefficientName | readonly Triple[];

/** Keller Jordan's quintic (maximal slope at 0), used for every step. */
export const KELLER: Triple = [3.4445, -4.775, 2.0315];

/**
 * Polar Express as Lau–Su's `optim/polar_express.py` uses it for Muon (num_iters 5, safety 2e-2,
 * cushion 2). Its input is normalised by ‖X‖_F·1.02 + 1e-6 (see POLAR_EXPRESS_NORM).
 */
export const POLAR_EXPRESS: readonly Triple[] = [
  [8.156554524902461, -22.48329292557795, 15.878769915207462],
  [4.042929935166739, -2.808917465908714, 0.5000178451051316],
  [3.8916678022926607, -2.772484153217685, 0.5060648178503393],
  [3.285753657755655, -2.3681294933425376, 0.46449024233003106],
  [2.3465413258596377, -1.7097828382687081, 0.42323551169305323],
];

/** The unmodified Polar Express list (Amsel et al., arXiv:2505.16932). */
export const POLAR_EXPRESS_RAW: readonly Triple[] = [
  [8.28721201814563, -23.595886519098837, 17.300387312530933],
  [4.107059111542203, -2.9478499167379106, 0.5448431082926601],
  [3.9486908534822946, -2.908902115962949, 0.5518191394370137],
  [3.3184196573706015, -2.488488024314874, 0.51004894012372],
  [2.300652019954817, -1.6689039845747493, 0.4188073119525673],
  [1.891301407787398, -1.2679958271945868, 0.37680408948524835],
  [1.8750014808534479, -1.2500016453999487, 0.3750001645474248],
  [1.875, -1.25, 0.375],
];

/**
 * The safety-1.05 list (invsqrt.py, gram_newton_schulz): each raw triple divided as
 * (a/1.05, b/1.05³, c/1.05⁵) — i.e. the raw polynomial evaluated at x/1.05 — except the last, (1.875, −1.25, 0.375), kept as is.
 */
export const PE_SAFETY_105: readonly Triple[] = POLAR_EXPRESS_RAW.map((t, i, all): Triple =>
  i === all.length - 1 ? t : [t[0] / 1.05, t[1] / 1.05 ** 3, t[2] / 1.05 ** 5],
);

/** ROOT's per-shape table keyed by (min(m,n), max(m,n)); one triple for every step. */
export const ROOT_TABLE: Readonly<Record<string, Triple>> = {
  "2048x2048": [3.4916, -4.8224, 2.1095],
  "2048x3072": [3.4509, -4.579, 1.9325],
  "2048x8192": [2.9794, -3.6674, 1.6207],
  "2048x16384": [3.1943, -3.8221, 1.5322],
};

/** Lau–Su's Muon Polar Express normalises by ‖X‖_F·(1 + 2e-2) + 1e-6; the others by ‖X‖_F + 1e-7. */
export const POLAR_EXPRESS_NORM = 1.02;

/** The pre-normalisation X / (‖X‖_F·factor + eps) a coefficient set was designed for. */
export function normalisationOf(c: Coefficients): { factor: number; eps: number } {
  return c === "polar_express" ? { factor: POLAR_EXPRESS_NORM, eps: 1e-6 } : { factor: 1, eps: 1e-7 };
}

const warnedRoot = new Set<string>();

/**
 * The `steps` triples to run for a matrix of `rows × cols`: the first `steps` of the list, the
 * last one repeated when the list is shorter. "root" looks the shape up and falls back to
 * Keller's triple with a one-time warning, as ROOT does.
 */
export function resolveCoefficients(c: Coefficients, steps: number, rows: number, cols: number): Triple[] {
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`newtonSchulz: steps must be a positive integer, got ${steps}`);
  let list: readonly Triple[];
  if (typeof c === "string") {
    if (c === "keller") list = [KELLER];
    else if (c === "polar_express") list = POLAR_EXPRESS;
    else if (c === "pe_safety_1.05") list = PE_SAFETY_105;
    else if (c === "root") {
      const key = `${Math.min(rows, cols)}x${Math.max(rows, cols)}`;
      const t = ROOT_TABLE[key];
      if (t === undefined && !warnedRoot.has(key)) {
        warnedRoot.add(key);
        console.warn(`newtonSchulz: ROOT has no coefficients for shape ${key}; using Keller's (3.4445, -4.775, 2.0315)`);
      }
      list = [t ?? KELLER];
    } else throw new Error(`newtonSchulz: unknown coefficient set '${String(c)}'; use "keller", "polar_express", "pe_safety_1.05", "root" or a list of [a, b, c] triples`);
  } else {
    checkTriples(c);
    list = c;
  }
  return Array.from({ length: steps }, (_, i) => list[Math.min(i, list.length - 1)]!);
}

/** Throws unless `c` is a non-empty list of finite [a, b, c] triples. */
export function checkTriples(c: unknown): asserts c is readonly Triple[] {
  const ok = Array.isArray(c) && c.length > 0 && c.every((t) => Array.isArray(t) && t.length === 3 && t.every((x) => typeof x === "number" && Number.isFinite(x)));
  if (!ok) throw new Error(`newtonSchulz: coefficients must be a named set ("keller", "polar_express", "pe_safety_1.05", "root") or a non-empty list of [a, b, c] number triples, got ${JSON.stringify(c)}`);
}

/** Whether `c` names a set or is a valid list (for hyperparameter checks). */
export function isCoefficients(c: unknown): c is Coefficients {
  if (typeof c === "string") return ["keller", "polar_express", "pe_safety_1.05", "root"].includes(c);
  try {
    checkTriples(c);
    return true;
  } catch {
    return false;
  }
}
