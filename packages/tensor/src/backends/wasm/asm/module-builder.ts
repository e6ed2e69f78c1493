// Assembles a WebAssembly module: deduplicated types, function/memory imports
// (including shared memories for worker_threads), functions, exports and data.

import { ByteWriter } from "./encoding.js";
import { FunctionBuilder } from "./function-builder.js";
import type { PlacedTrace } from "./trace.js";
import { formatListing, parseErrorOffset } from "./trace.js";
import type { FuncSig, MemoryLimits, ValType } from "./types.js";
import { MAX_PAGES, PAGE_BYTES, VALTYPE_CODE, checkValTypes, sigKey, sigText } from "./types.js";
import { WasmValidationError, assertValid, debugLevelFromEnv, validationError } from "./validate.js";
import type { WasmImports, WasmInstance, WasmModule } from "./wasm-api.js";
import { wasmApi } from "./wasm-api.js";

const SECTION = { custom: 0, type: 1, import: 2, function: 3, memory: 5, export: 7, code: 10, data: 11 } as const;
const EXTERN_FUNC = 0x00;
const EXTERN_MEMORY = 0x02;
const FUNC_TYPE = 0x60;
const MAGIC_VERSION = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

export interface ModuleOptions {
  /** Record instruction traces and validate in build(); defaults to EQUIGRAD_DEBUG_WASM. */
  readonly debug?: boolean;
  /** Module name, for the name section and listings. */
  readonly name?: string;
}

export interface FunctionOptions {
  readonly params?: readonly ValType[];
  readonly results?: readonly ValType[];
  readonly locals?: readonly ValType[];
  readonly name?: string;
  /** Export name; `true` exports under `name`. */
  readonly export?: string | boolean;
}

interface FuncImport {
  readonly module: string;
  readonly field: string;
  readonly typeIndex: number;
  readonly name: string | undefined;
}

interface MemoryDecl {
  readonly limits: MemoryLimits;
  readonly importFrom: { readonly module: string; readonly field: string } | null;
}

interface ExportDecl {
  readonly name: string;
  readonly kind: typeof EXTERN_FUNC | typeof EXTERN_MEMORY;
  readonly index: number;
}

function checkLimits(limits: MemoryLimits): void {
  const { initial, maximum, shared } = limits;
  if (!Number.isInteger(initial) || initial < 0 || initial > MAX_PAGES) {
    throw new RangeError(`memory: initial ${initial} pages is not an integer in [0, ${MAX_PAGES}]`);
  }
  if (maximum !== undefined && (!Number.isInteger(maximum) || maximum < initial || maximum > MAX_PAGES)) {
    throw new RangeError(`memory: maximum ${maximum} pages must be an integer in [initial=${initial}, ${MAX_PAGES}]`);
  }
  if (shared && maximum === undefined) throw new RangeError("memory: a shared memory needs a maximum");
}

function writeLimits(w: ByteWriter, l: MemoryLimits): void {
  const flags = (l.maximum !== undefined ? 1 : 0) | (l.shared ? 2 : 0);
  w.u8(flags).u32(l.initial);
  if (l.maximum !== undefined) w.u32(l.maximum);
}

function limitsText(l: MemoryLimits): string {
  return `${l.initial}${l.maximum !== undefined ? ` ${l.maximum}` : ""}${l.shared ? " shared" : ""}`;
}

export class ModuleBuilder {
  readonly debug: boolean;
  readonly name: string | undefined;
  private readonly printAll: boolean;
  private readonly printFailures: boolean;
  private readonly types: FuncSig[] = [];
  private readonly typeByKey = new Map<string, number>();
  private readonly funcImports: FuncImport[] = [];
  private readonly funcs: FunctionBuilder[] = [];
  private mem: MemoryDecl | null = null;
  private readonly exportList: ExportDecl[] = [];
  private readonly dataSegments: { offset: number; bytes: Uint8Array }[] = [];
  private placement: { codeStart: number; codeEnd: number }[] = [];

  constructor(options: ModuleOptions = {}) {
    const env = debugLevelFromEnv();
    this.debug = options.debug ?? env > 0;
    this.name = options.name;
    // Printing follows the env var, but never for modules that opted out of debug (feature probes).
    this.printFailures = this.debug && env > 0;
    this.printAll = this.debug && env > 1;
  }

  /** Index of `sig` in the type section, adding it once. */
  type(sig: FuncSig): number {
    checkValTypes("type params", sig.params);
    checkValTypes("type results", sig.results);
    const key = sigKey(sig);
    let idx = this.typeByKey.get(key);
    if (idx === undefined) {
      idx = this.types.length;
      this.types.push({ params: [...sig.params], results: [...sig.results] });
      this.typeByKey.set(key, idx);
    }
    return idx;
  }

  get typeCount(): number {
    return this.types.length;
  }

  /** Number of functions in the index space (imports first). */
  get functionCount(): number {
    return this.funcImports.length + this.funcs.length;
  }

  /** Imports a function; returns its function index. Must precede func(). */
  importFunction(module: string, field: string, sig: FuncSig, name?: string): number {
    if (this.funcs.length > 0) {
      throw new Error(`importFunction("${module}", "${field}"): declare imports before defining functions (imported functions take the lowest indices)`);
    }
    this.funcImports.push({ module, field, typeIndex: this.type(sig), name });
    return this.funcImports.length - 1;
  }

  /** Imports memory 0 (e.g. a shared WebAssembly.Memory handed to every worker). */
  importMemory(module: string, field: string, limits: MemoryLimits): this {
    if (this.mem) throw new Error("importMemory: the module already has a memory (only memory 0 is supported)");
    checkLimits(limits);
    this.mem = { limits: { ...limits }, importFrom: { module, field } };
    return this;
  }

  /** Defines memory 0 inside the module, optionally exporting it. */
  memory(limits: MemoryLimits, exportName?: string): this {
    if (this.mem) throw new Error("memory: the module already has a memory (only memory 0 is supported)");
    checkLimits(limits);
    this.mem = { limits: { ...limits }, importFrom: null };
    if (exportName !== undefined) this.exportMemory(exportName);
    return this;
  }

  /**
   * Adds a function and returns its builder (its index is known right away, so
   * it can be called before its body is written). With `body`, runs it on the builder.
   */
  func(options: FunctionOptions = {}, body?: (f: FunctionBuilder) => void): FunctionBuilder {
    const sig: FuncSig = { params: options.params ?? [], results: options.results ?? [] };
    const fb = new FunctionBuilder({
      index: this.functionCount,
      typeIndex: this.type(sig),
      sig,
      name: options.name,
      locals: options.locals,
      debug: this.debug,
      blockTypeIndex: (s) => this.type(s),
    });
    this.funcs.push(fb);
    if (options.export !== undefined && options.export !== false) {
      const exportName = options.export === true ? options.name : options.export;
      if (exportName === undefined) throw new Error("func: export: true needs a name");
      this.exportFunction(exportName, fb);
    }
    body?.(fb);
    return fb;
  }

  exportFunction(name: string, fn: number | FunctionBuilder): this {
    const index = typeof fn === "number" ? fn : fn.index;
    if (!Number.isInteger(index) || index < 0 || index >= this.functionCount) {
      throw new RangeError(`exportFunction("${name}"): unknown function index ${index}`);
    }
    return this.addExport({ name, kind: EXTERN_FUNC, index });
  }

  exportMemory(name: string): this {
    if (!this.mem) throw new Error(`exportMemory("${name}"): the module has no memory`);
    return this.addExport({ name, kind: EXTERN_MEMORY, index: 0 });
  }

  private addExport(e: ExportDecl): this {
    if (this.exportList.some((x) => x.name === e.name)) throw new Error(`duplicate export name "${e.name}"`);
    this.exportList.push(e);
    return this;
  }

  /**
   * Active data segment for memory 0. Note: on an imported shared memory it is
   * rewritten on every instantiation.
   */
  data(offset: number, bytes: ArrayLike<number>): this {
    if (!Number.isInteger(offset) || offset < 0 || offset > 0x7fff_ffff) {
      throw new RangeError(`data: offset ${offset} must be an integer in [0, 2^31)`);
    }
    this.dataSegments.push({ offset, bytes: Uint8Array.from(bytes) });
    return this;
  }

  // ---- output ----

  /** Encodes the module. In debug mode also validates it (throwing WasmValidationError). */
  build(): Uint8Array {
    const bodies = this.funcs.map((f) => f.finish());
    this.checkData();
    const out = new ByteWriter(1024).bytes(MAGIC_VERSION);
    const section = (id: number, write: (w: ByteWriter) => void): number => {
      const content = new ByteWriter();
      write(content);
      out.u8(id).u32(content.length);
      const start = out.length;
      out.bytes(content.view());
      return start;
    };

    if (this.types.length) {
      section(SECTION.type, (w) =>
        w.vec(this.types, (v, t) =>
          v.u8(FUNC_TYPE)
            .vec(t.params, (x, p) => x.u8(VALTYPE_CODE[p]))
            .vec(t.results, (x, r) => x.u8(VALTYPE_CODE[r])),
        ),
      );
    }
    const memImport = this.mem?.importFrom ?? null;
    if (this.funcImports.length || memImport) {
      section(SECTION.import, (w) => {
        w.u32(this.funcImports.length + (memImport ? 1 : 0));
        for (const imp of this.funcImports) w.name(imp.module).name(imp.field).u8(EXTERN_FUNC).u32(imp.typeIndex);
        if (memImport && this.mem) {
          w.name(memImport.module).name(memImport.field).u8(EXTERN_MEMORY);
          writeLimits(w, this.mem.limits);
        }
      });
    }
    if (this.funcs.length) section(SECTION.function, (w) => w.vec(this.funcs, (v, f) => v.u32(f.typeIndex)));
    if (this.mem && !memImport) {
      const limits = this.mem.limits;
      section(SECTION.memory, (w) => {
        w.u32(1);
        writeLimits(w, limits);
      });
    }
    if (this.exportList.length) {
      section(SECTION.export, (w) => w.vec(this.exportList, (v, e) => v.name(e.name).u8(e.kind).u32(e.index)));
    }
    if (bodies.length) {
      const rel: { start: number; end: number }[] = [];
      const base = section(SECTION.code, (w) => {
        w.u32(bodies.length);
        for (const b of bodies) {
          w.u32(b.bytes.length);
          rel.push({ start: w.length + b.codeOffset, end: w.length + b.bytes.length });
          w.bytes(b.bytes);
        }
      });
      this.placement = rel.map((r) => ({ codeStart: base + r.start, codeEnd: base + r.end }));
    }
    if (this.dataSegments.length) {
      section(SECTION.data, (w) =>
        w.vec(this.dataSegments, (v, d) => {
          // Active segment for memory 0 with an i32.const offset expression.
          v.u8(0x00).u8(0x41).s32(d.offset).u8(0x0b).u32(d.bytes.length).bytes(d.bytes);
        }),
      );
    }
    this.writeNames(section);

    const bytes = out.finish();
    if (this.printAll) console.error(this.listing());
    if (this.debug) assertValid(bytes, (off) => this.listing(off), this.printFailures);
    return bytes;
  }

  private checkData(): void {
    if (this.dataSegments.length === 0) return;
    if (!this.mem) throw new Error("data: the module has no memory");
    const limit = this.mem.limits.initial * PAGE_BYTES;
    for (const d of this.dataSegments) {
      if (d.offset + d.bytes.length > limit) {
        throw new RangeError(`data: segment [${d.offset}, ${d.offset + d.bytes.length}) exceeds the initial memory (${limit} bytes)`);
      }
    }
  }

  /** "name" custom section so engines show function names in traces and errors. */
  private writeNames(section: (id: number, write: (w: ByteWriter) => void) => number): void {
    const names: [number, string][] = [];
    this.funcImports.forEach((imp, i) => {
      if (imp.name !== undefined) names.push([i, imp.name]);
    });
    for (const f of this.funcs) if (f.name !== undefined) names.push([f.index, f.name]);
    if (!names.length && this.name === undefined) return;
    section(SECTION.custom, (w) => {
      w.name("name");
      if (this.name !== undefined) w.u8(0).sized(new ByteWriter().name(this.name));
      if (names.length) w.u8(1).sized(new ByteWriter().vec(names, (v, [i, n]) => v.u32(i).name(n)));
    });
  }

  /** Compiles synchronously; on failure throws WasmValidationError with a listing. */
  compile(): WasmModule {
    const bytes = this.build();
    const api = wasmApi();
    try {
      return new api.Module(bytes);
    } catch (e) {
      const message = validationError(bytes) ?? (e instanceof Error ? e.message : String(e));
      const offset = parseErrorOffset(message);
      throw new WasmValidationError(message, offset, this.listing(offset));
    }
  }

  instantiate<E = Record<string, unknown>>(imports?: WasmImports): WasmInstance<E> {
    return new (wasmApi().Instance)(this.compile(), imports) as WasmInstance<E>;
  }

  /**
   * Disassembly-like listing of the module. Instructions appear only in debug
   * mode; offsets are absolute once build() has run. `errorOffset` marks a line.
   */
  listing(errorOffset?: number): string {
    const pre: string[] = [`(module${this.name === undefined ? "" : ` $${this.name}`}`];
    this.types.forEach((t, i) => pre.push(`  (type (;${i};) (func${sigText(t)}))`));
    this.funcImports.forEach((imp, i) =>
      pre.push(`  (import "${imp.module}" "${imp.field}" (func (;${i};) (type ${imp.typeIndex})))`),
    );
    if (this.mem) {
      const m = this.mem;
      pre.push(
        m.importFrom
          ? `  (import "${m.importFrom.module}" "${m.importFrom.field}" (memory ${limitsText(m.limits)}))`
          : `  (memory ${limitsText(m.limits)})`,
      );
    }
    for (const e of this.exportList) pre.push(`  (export "${e.name}" (${e.kind === EXTERN_FUNC ? "func" : "memory"} ${e.index}))`);
    const funcs: PlacedTrace[] = this.funcs.map((f, i) => ({
      header: `  ${f.header()}`,
      codeStart: this.placement[i]?.codeStart ?? -1,
      codeEnd: this.placement[i]?.codeEnd ?? -1,
      entries: f.trace,
    }));
    if (errorOffset !== undefined) pre.push(`  ;; engine error at module offset ${errorOffset} (0x${errorOffset.toString(16)})`);
    return `${formatListing(pre, funcs, errorOffset)}\n)`;
  }
}
