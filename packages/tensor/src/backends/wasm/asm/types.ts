// Value/block/function types shared by the module and function builders.

export type ValType = "i32" | "i64" | "f32" | "f64" | "v128";

/** Binary codes of value types. */
export const VALTYPE_CODE: Readonly<Record<ValType, number>> = {
  i32: 0x7f,
  i64: 0x7e,
  f32: 0x7d,
  f64: 0x7c,
  v128: 0x7b,
};

export const VALTYPES: readonly ValType[] = ["i32", "i64", "f32", "f64", "v128"];

export interface FuncSig {
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
}

/**
 * Block type: "void" (the default), a single result type, or a full signature
 * (multi-value blocks, which need an entry in the type section).
 */
export type BlockType = "void" | ValType | FuncSig;

export function isValType(x: unknown): x is ValType {
  return typeof x === "string" && (VALTYPES as readonly string[]).includes(x);
}

/** Stable key used to deduplicate function types. */
export function sigKey(sig: FuncSig): string {
  return `${sig.params.join(",")}->${sig.results.join(",")}`;
}

export function sigText(sig: FuncSig): string {
  const p = sig.params.length ? ` (param ${sig.params.join(" ")})` : "";
  const r = sig.results.length ? ` (result ${sig.results.join(" ")})` : "";
  return `${p}${r}`;
}

export function checkValTypes(what: string, types: readonly unknown[]): void {
  for (const t of types) if (!isValType(t)) throw new TypeError(`${what}: unknown value type ${JSON.stringify(t)}`);
}

/** Memory limits in 64 KiB pages; shared memories need a maximum (threads proposal). */
export interface MemoryLimits {
  readonly initial: number;
  readonly maximum?: number;
  readonly shared?: boolean;
}

export const PAGE_BYTES = 65536;
export const MAX_PAGES = 65536;
