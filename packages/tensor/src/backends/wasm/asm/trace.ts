// Debug trace of emitted instructions and the disassembly-like listing built from it.

/** One emitted instruction; `offset` is relative to the function's first instruction. */
export interface TraceEntry {
  readonly offset: number;
  readonly depth: number;
  readonly text: string;
}

/** A function's trace placed in the final module bytes. */
export interface PlacedTrace {
  readonly header: string;
  /** Absolute module offsets of the function's first instruction and of its end; -1 when not built yet. */
  readonly codeStart: number;
  readonly codeEnd: number;
  readonly entries: readonly TraceEntry[] | null;
}

const hex = (n: number): string => n.toString(16).padStart(6, "0");

/**
 * Renders functions as indented instruction lines prefixed by their module offset.
 * When `errorOffset` (as reported by the engine, e.g. "@+123") falls inside a
 * function, the instruction at that offset is marked with ">>>".
 */
export function formatListing(preamble: readonly string[], funcs: readonly PlacedTrace[], errorOffset?: number): string {
  const lines = [...preamble];
  for (const fn of funcs) {
    lines.push(fn.header);
    if (!fn.entries) {
      lines.push("  ;; (instruction trace off: enable debug to record it)");
      continue;
    }
    let marked = -1;
    if (errorOffset !== undefined && fn.codeStart >= 0 && errorOffset >= fn.codeStart && errorOffset < fn.codeEnd) {
      for (let i = 0; i < fn.entries.length; i++) {
        if (fn.codeStart + (fn.entries[i] as TraceEntry).offset <= errorOffset) marked = i;
        else break;
      }
    }
    fn.entries.forEach((e, i) => {
      const at = fn.codeStart >= 0 ? hex(fn.codeStart + e.offset) : `+${e.offset}`;
      const mark = i === marked ? ">>>" : "   ";
      lines.push(`${mark} ${at}: ${"  ".repeat(e.depth + 1)}${e.text}`);
    });
  }
  return lines.join("\n");
}

/** Extracts the byte offset V8/SpiderMonkey put in compile errors ("@+123" / "at offset 123"). */
export function parseErrorOffset(message: string): number | undefined {
  const m = /@\+(\d+)/.exec(message) ?? /at offset (\d+)/.exec(message) ?? /byte offset (\d+)/.exec(message);
  return m ? Number(m[1]) : undefined;
}
