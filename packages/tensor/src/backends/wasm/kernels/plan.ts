/** How to run one primitive call as a generated kernel. */
export interface KernelPlan {
  /** Identifies the generated code: equal keys must mean identical modules. */
  readonly key: string;
  /** Emits the module (exporting `run(...args, start, end, thread)`, importing `env.memory`). */
  readonly build: () => Uint8Array;
  /**
   * Per-thread scratch space the kernel needs (e.g. packed panels), 0 for none. Every kernel
   * takes the addresses of its inputs, then of its output, then (with scratch) the address of
   * the scratch arena (threads × scratchBytesPerThread; thread t uses the t-th slice) when
   * scratchBytesPerThread is set, even to 0.
   */
  readonly scratchBytesPerThread?: number;
  /** Independent work units (e.g. output rows) to split across threads. */
  readonly units: number;
  readonly minUnitsPerThread: number;
}
