/** Maps one id to its bytes, or undefined when the id has none. */
export type TokenBytes = (id: number) => Uint8Array | undefined;

const decoder = new TextDecoder("utf-8", { fatal: false });

/** Concatenated bytes of the ids; ids without bytes are skipped. */
export function concatBytes(ids: ArrayLike<number>, bytesOf: TokenBytes): Uint8Array {
  const parts: Uint8Array[] = [];
  let n = 0;
  for (let i = 0; i < ids.length; i++) {
    const b = bytesOf(ids[i]!);
    if (b) {
      parts.push(b);
      n += b.length;
    }
  }
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Decodes ids to text without ever throwing: broken UTF-8 (a sample cut inside a multi-byte
 * character) decodes to U+FFFD, and each id without bytes (a padded-vocabulary id) shows as one
 * U+FFFD at its place.
 */
export function decodeTolerant(ids: ArrayLike<number>, bytesOf: TokenBytes): string {
  let out = "";
  let run: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (bytesOf(id)) run.push(id);
    else {
      out += decoder.decode(concatBytes(run, bytesOf)) + "\uFFFD";
      run = [];
    }
  }
  return out + decoder.decode(concatBytes(run, bytesOf));
}
