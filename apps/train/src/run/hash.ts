import { createHash } from "node:crypto";

/** JSON with object keys sorted at every level: equal values give equal text, whatever the key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

/** sha256 (hex) of the canonical JSON of a resolved config. */
export const hashConfig = (config: unknown): string => createHash("sha256").update(canonicalJson(config)).digest("hex");
