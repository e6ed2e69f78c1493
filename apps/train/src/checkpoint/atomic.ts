import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/** A unique sibling name: same directory, so the final rename never crosses file systems. */
export const tempSibling = (path: string): string =>
  join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`);

/** fsync a directory so a rename inside it is durable (not supported on Windows: skipped). */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // Windows cannot open directories; the rename is still atomic there.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Writes bytes and fsyncs them before returning. */
export function writeFileDurable(path: string, data: Uint8Array | string): void {
  const fd = openSync(path, "w");
  try {
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Write to a temp name in the same directory, fsync, rename: readers see the old or the new file, never half of one. */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const tmp = tempSibling(path);
  try {
    writeFileDurable(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDir(dirname(path));
}
