// Fluent emitter for one function body: control flow, locals, and the typed
// instruction namespaces. Operand-stack typing is the caller's job; this class
// catches structural misuse early (unbalanced blocks, unknown locals, bad branch
// depths) and, in debug mode, records a text trace for listings.

import { ByteWriter } from "./encoding.js";
import type {
  AtomicNs, Emitter, F32Ns, F32x4Ns, F64Ns, F64x2Ns, I16x8Ns, I32Ns, I32x4Ns, I64Ns, I64x2Ns,
  I8x16Ns, MemoryNs, Namespaces, V128Ns,
} from "./namespaces.js";
import { createNamespaces } from "./namespaces.js";
import { BLOCKTYPE_VOID, OP, PREFIX_NONE } from "./opcodes.js";
import type { TraceEntry } from "./trace.js";
import type { BlockType, FuncSig, ValType } from "./types.js";
import { VALTYPE_CODE, checkValTypes, isValType, sigText } from "./types.js";

type ControlKind = "block" | "loop" | "if" | "else";
interface ControlFrame {
  kind: ControlKind;
  label: string | undefined;
  offset: number;
}

/** A branch target: relative depth (0 = innermost) or a label given to block/loop/if. */
export type BranchTarget = number | string;

export interface LocalNs {
  get(index: number): FunctionBuilder;
  set(index: number): FunctionBuilder;
  tee(index: number): FunctionBuilder;
}

export interface FunctionBuilderInit {
  readonly index: number;
  readonly typeIndex: number;
  readonly sig: FuncSig;
  readonly name?: string | undefined;
  readonly locals?: readonly ValType[] | undefined;
  readonly debug: boolean;
  /** Registers a multi-value block signature in the module's type section. */
  readonly blockTypeIndex: (sig: FuncSig) => number;
}

/** Encoded body: local declarations + instructions + final end. */
export interface FinishedBody {
  readonly bytes: Uint8Array;
  /** Offset of the first instruction within `bytes` (after the local declarations). */
  readonly codeOffset: number;
}

export class FunctionBuilder implements Emitter, Namespaces<FunctionBuilder> {
  readonly index: number;
  readonly typeIndex: number;
  readonly name: string | undefined;
  readonly sig: FuncSig;

  readonly i32: I32Ns<FunctionBuilder>;
  readonly i64: I64Ns<FunctionBuilder>;
  readonly f32: F32Ns<FunctionBuilder>;
  readonly f64: F64Ns<FunctionBuilder>;
  readonly v128: V128Ns<FunctionBuilder>;
  readonly i8x16: I8x16Ns<FunctionBuilder>;
  readonly i16x8: I16x8Ns<FunctionBuilder>;
  readonly i32x4: I32x4Ns<FunctionBuilder>;
  readonly i64x2: I64x2Ns<FunctionBuilder>;
  readonly f32x4: F32x4Ns<FunctionBuilder>;
  readonly f64x2: F64x2Ns<FunctionBuilder>;
  readonly memory: MemoryNs<FunctionBuilder>;
  readonly atomic: AtomicNs<FunctionBuilder>;
  readonly local: LocalNs;

  private readonly code = new ByteWriter(512);
  private readonly localTypes: ValType[];
  private readonly control: ControlFrame[] = [];
  private readonly traceEntries: TraceEntry[] | null;
  private readonly blockTypeIndex: (sig: FuncSig) => number;
  private finished: FinishedBody | null = null;

  constructor(init: FunctionBuilderInit) {
    checkValTypes("function params", init.sig.params);
    checkValTypes("function results", init.sig.results);
    this.index = init.index;
    this.typeIndex = init.typeIndex;
    this.name = init.name;
    this.sig = { params: [...init.sig.params], results: [...init.sig.results] };
    this.localTypes = [...init.sig.params];
    this.traceEntries = init.debug ? [] : null;
    this.blockTypeIndex = init.blockTypeIndex;
    for (const t of init.locals ?? []) this.addLocal(t);

    const ns = createNamespaces<FunctionBuilder>(this);
    this.i32 = ns.i32;
    this.i64 = ns.i64;
    this.f32 = ns.f32;
    this.f64 = ns.f64;
    this.v128 = ns.v128;
    this.i8x16 = ns.i8x16;
    this.i16x8 = ns.i16x8;
    this.i32x4 = ns.i32x4;
    this.i64x2 = ns.i64x2;
    this.f32x4 = ns.f32x4;
    this.f64x2 = ns.f64x2;
    this.memory = ns.memory;
    this.atomic = ns.atomic;
    this.local = {
      get: (i) => this.localOp("local.get", OP.local_get, i),
      set: (i) => this.localOp("local.set", OP.local_set, i),
      tee: (i) => this.localOp("local.tee", OP.local_tee, i),
    };
  }

  /** Human-readable identity for error messages. */
  get label(): string {
    return this.name === undefined ? `func[${this.index}]` : `func[${this.index}] "${this.name}"`;
  }

  /** Number of params plus declared locals. */
  get localCount(): number {
    return this.localTypes.length;
  }

  /** Recorded instructions (debug mode only). */
  get trace(): readonly TraceEntry[] | null {
    return this.traceEntries;
  }

  get isFinished(): boolean {
    return this.finished !== null;
  }

  // ---- locals ----

  /** Declares `count` locals of `type`; returns the index of the first. */
  addLocal(type: ValType, count = 1): number {
    if (this.finished) throw new Error(`${this.label}: cannot add locals after the function was finished`);
    checkValTypes(`${this.label}: addLocal`, [type]);
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`${this.label}: addLocal count ${count} must be >= 1`);
    const first = this.localTypes.length;
    for (let i = 0; i < count; i++) this.localTypes.push(type);
    return first;
  }

  localType(index: number): ValType {
    this.checkLocal("localType", index);
    return this.localTypes[index] as ValType;
  }

  private checkLocal(op: string, index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.localTypes.length) {
      const np = this.sig.params.length;
      throw new RangeError(
        `${this.label}: ${op} ${index}: unknown local; the function has ${this.localTypes.length} ` +
          `(${np} params, ${this.localTypes.length - np} declared locals) — declare it with addLocal() first`,
      );
    }
  }

  private localOp(name: string, code: number, index: number): FunctionBuilder {
    this.checkLocal(name, index);
    this.instr(name, PREFIX_NONE, code, (w) => w.u32(index), `${index} ;; ${this.localTypes[index]}`);
    return this;
  }

  // ---- raw emission ----

  instr(name: string, prefix: number, code: number, imm?: (w: ByteWriter) => void, immText?: string): void {
    this.emitAt(this.control.length, name, prefix, code, imm, immText);
  }

  private emitAt(depth: number, name: string, prefix: number, code: number, imm?: (w: ByteWriter) => void, immText?: string): void {
    if (this.finished) throw new Error(`${this.label}: cannot emit ${name} after the function was finished`);
    const offset = this.code.length;
    if (prefix === PREFIX_NONE) this.code.u8(code);
    else this.code.u8(prefix).u32(code);
    if (imm) imm(this.code);
    this.traceEntries?.push({ offset, depth, text: immText ? `${name} ${immText}` : name });
  }

  // ---- control flow ----

  private encodeBlockType(bt: BlockType): { write: (w: ByteWriter) => void; text: string } {
    if (bt === "void") return { write: (w) => w.u8(BLOCKTYPE_VOID), text: "" };
    if (isValType(bt)) return { write: (w) => w.u8(VALTYPE_CODE[bt]), text: `(result ${bt})` };
    if (typeof bt !== "object" || bt === null) throw new TypeError(`${this.label}: invalid block type ${String(bt)}`);
    checkValTypes("block type", [...bt.params, ...bt.results]);
    if (bt.params.length === 0 && bt.results.length === 0) return this.encodeBlockType("void");
    if (bt.params.length === 0 && bt.results.length === 1) return this.encodeBlockType(bt.results[0] as ValType);
    const idx = this.blockTypeIndex(bt);
    return { write: (w) => w.s32(idx), text: `(type ${idx})${sigText(bt)}` }; // s33 type index
  }

  private open(kind: "block" | "loop" | "if", code: number, bt: BlockType, label: string | undefined): this {
    const enc = this.encodeBlockType(bt);
    const text = [label === undefined ? "" : `$${label}`, enc.text].filter(Boolean).join(" ");
    const offset = this.code.length;
    this.instr(kind, PREFIX_NONE, code, enc.write, text);
    this.control.push({ kind, label, offset });
    return this;
  }

  block(type: BlockType = "void", label?: string): this {
    return this.open("block", OP.block, type, label);
  }

  loop(type: BlockType = "void", label?: string): this {
    return this.open("loop", OP.loop, type, label);
  }

  if(type: BlockType = "void", label?: string): this {
    return this.open("if", OP.if, type, label);
  }

  else(): this {
    const top = this.control[this.control.length - 1];
    if (!top || top.kind !== "if") {
      throw new Error(`${this.label}: else() without a matching if (innermost open construct: ${top ? top.kind : "none"})`);
    }
    this.emitAt(this.control.length - 1, "else", PREFIX_NONE, OP.else);
    top.kind = "else";
    return this;
  }

  end(): this {
    if (this.control.length === 0) {
      throw new Error(`${this.label}: end() without an open block/loop/if (the function's own end is added by finish())`);
    }
    this.emitAt(this.control.length - 1, "end", PREFIX_NONE, OP.end);
    this.control.pop();
    return this;
  }

  /** Resolves a label or relative depth; the function body itself is depth `control.length`. */
  private depthOf(op: string, target: BranchTarget): number {
    if (typeof target === "string") {
      for (let d = 0; d < this.control.length; d++) {
        if (this.control[this.control.length - 1 - d]?.label === target) return d;
      }
      throw new Error(`${this.label}: ${op} $${target}: no enclosing block/loop/if has that label`);
    }
    if (!Number.isInteger(target) || target < 0 || target > this.control.length) {
      throw new RangeError(`${this.label}: ${op} ${target}: branch depth out of range [0, ${this.control.length}]`);
    }
    return target;
  }

  br(target: BranchTarget): this {
    const d = this.depthOf("br", target);
    this.instr("br", PREFIX_NONE, OP.br, (w) => w.u32(d), String(d));
    return this;
  }

  br_if(target: BranchTarget): this {
    const d = this.depthOf("br_if", target);
    this.instr("br_if", PREFIX_NONE, OP.br_if, (w) => w.u32(d), String(d));
    return this;
  }

  br_table(targets: readonly BranchTarget[], defaultTarget: BranchTarget): this {
    const ds = targets.map((t) => this.depthOf("br_table", t));
    const dd = this.depthOf("br_table", defaultTarget);
    this.instr("br_table", PREFIX_NONE, OP.br_table, (w) => w.vec(ds, (v, d) => v.u32(d)).u32(dd), [...ds, dd].join(" "));
    return this;
  }

  return(): this {
    this.instr("return", PREFIX_NONE, OP.return);
    return this;
  }

  /** Calls a function by index or builder (imports come first in the index space). */
  call(fn: number | { readonly index: number; readonly name?: string | undefined }): this {
    const idx = typeof fn === "number" ? fn : fn.index;
    if (!Number.isInteger(idx) || idx < 0) throw new RangeError(`${this.label}: call ${idx}: invalid function index`);
    const name = typeof fn === "object" && fn.name !== undefined ? ` ;; $${fn.name}` : "";
    this.instr("call", PREFIX_NONE, OP.call, (w) => w.u32(idx), `${idx}${name}`);
    return this;
  }

  drop(): this {
    this.instr("drop", PREFIX_NONE, OP.drop);
    return this;
  }

  /** Untyped select: [a, b, cond:i32] -> a or b, for numeric and v128 operands. */
  select(): this {
    this.instr("select", PREFIX_NONE, OP.select);
    return this;
  }

  unreachable(): this {
    this.instr("unreachable", PREFIX_NONE, OP.unreachable);
    return this;
  }

  nop(): this {
    this.instr("nop", PREFIX_NONE, OP.nop);
    return this;
  }

  // ---- finishing ----

  /**
   * Closes the body (appends the final end) and encodes it. Idempotent; the
   * module builder calls it at build time.
   */
  finish(): FinishedBody {
    if (this.finished) return this.finished;
    if (this.control.length > 0) {
      const open = this.control.map((c) => `${c.kind}${c.label === undefined ? "" : ` $${c.label}`} @+${c.offset}`);
      throw new Error(
        `${this.label}: unbalanced control flow at finish: ${this.control.length} unclosed construct(s) ` +
          `[${open.join(", ")}]; call end() once per block/loop/if`,
      );
    }
    this.emitAt(-1, "end", PREFIX_NONE, OP.end);

    const out = new ByteWriter(this.code.length + 32);
    // Consecutive locals of one type share a (count, type) entry.
    const runs: [number, ValType][] = [];
    for (const t of this.localTypes.slice(this.sig.params.length)) {
      const last = runs[runs.length - 1];
      if (last && last[1] === t) last[0]++;
      else runs.push([1, t]);
    }
    out.vec(runs, (w, [n, t]) => w.u32(n).u8(VALTYPE_CODE[t]));
    const codeOffset = out.length;
    out.bytes(this.code.view());
    this.finished = { bytes: out.finish(), codeOffset };
    return this.finished;
  }

  /** Listing header: signature and local declarations. */
  header(): string {
    const name = this.name === undefined ? "" : ` $${this.name}`;
    const locals = this.localTypes.slice(this.sig.params.length);
    const localText = locals.length ? ` (local ${locals.join(" ")})` : "";
    return `(func${name} (;${this.index};)${sigText(this.sig)}${localText}`;
  }
}
