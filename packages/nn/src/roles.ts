/**
 * What a parameter is for. The layer that creates a parameter names its role (never guessed
 * from its shape), so optimizers can be assigned per role by an explicit table.
 */
export const ROLES = [
  "embed",
  "lm_head",
  "attn.q",
  "attn.k",
  "attn.v",
  "attn.o",
  "mlp.gate",
  "mlp.up",
  "mlp.down",
  "moe.router",
  "moe.expert.gate",
  "moe.expert.up",
  "moe.expert.down",
  "norm",
  "bias",
  "scalar",
] as const;

export type Role = (typeof ROLES)[number];

const known = new Set<string>(ROLES);

export const isRole = (r: string): r is Role => known.has(r);
