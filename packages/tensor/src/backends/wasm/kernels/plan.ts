import type { View } from "../../../backend/view.js";

/** How to run one primitive call as a generated kernel. */
export interface KernelPlan {
  /** Identifies the generated code: equal keys must mean identical modules. */
  readonly key: string;
  /** Emits the module (exporting `run(...args, start, end, thread)`, importing `env.memory`). */
  readonly build: () => Uint8Array;
  /**
   * Kernel arguments, given each view's buffer address and the address of the scratch arena
   * (threads × scratchBytesPerThread bytes; thread t uses the t-th slice).
   */
  readonly args: (ptr: (v: View) => number, scratch: number) => number[];
  /** Per-thread scratch space the kernel needs (e.g. packed panels), 0 for none. */
  readonly scratchBytesPerThread?: number;
  /** Independent work units (e.g. output rows) to split across threads. */
  readonly units: number;
  readonly minUnitsPerThread: number;
}
