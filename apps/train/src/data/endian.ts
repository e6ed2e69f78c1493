// The file formats here (llm.c shards, safetensors) are little-endian. Typed arrays use the
// host's order, so on a big-endian host (Node supports s390x) bytes are swapped explicitly.
export const HOST_IS_LE = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

type NumArray = Uint16Array | Uint32Array | Int32Array | Float32Array | Float64Array | Uint8Array;

function swapInPlace(bytes: Uint8Array, width: number): void {
  if (width === 1) return;
  for (let i = 0; i < bytes.length; i += width) bytes.subarray(i, i + width).reverse();
}

/** The little-endian bytes of `a` (a copy). */
export function toLEBytes(a: NumArray): Uint8Array {
  const out = new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
  if (!HOST_IS_LE) swapInPlace(out, a.BYTES_PER_ELEMENT);
  return out;
}

/** Copies little-endian bytes into a fresh, aligned typed array of `ctor`. */
export function fromLEBytes<C extends (new (b: ArrayBuffer) => NumArray) & { BYTES_PER_ELEMENT: number }>(bytes: Uint8Array, ctor: C): InstanceType<C> {
  // A fresh buffer: file Buffers may be pooled at offsets that are not element-aligned.
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  if (!HOST_IS_LE) swapInPlace(copy, ctor.BYTES_PER_ELEMENT);
  return new ctor(copy.buffer) as InstanceType<C>;
}
