/**
 * Matches a name against a glob: `*` matches any run of characters (dots included, so
 * "blocks.*.mlp.*" covers "blocks.0.mlp.down.weight"), `?` one character; the rest is literal.
 */
export function globMatch(pattern: string, name: string): boolean {
  return globRegExp(pattern).test(name);
}

const cache = new Map<string, RegExp>();

function globRegExp(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (!re) {
    const body = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
    re = new RegExp(`^${body}$`);
    cache.set(pattern, re);
  }
  return re;
}
