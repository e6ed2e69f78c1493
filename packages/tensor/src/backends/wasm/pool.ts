import { Worker, MessageChannel, type MessagePort } from "node:worker_threads";
import { availableParallelism } from "node:os";
import type { WasmMemory, WasmModule } from "./asm/index.js";
import { DEAD, SLOT_WORDS as SLOT, WORKER_SOURCE } from "./worker-main.js";

/**
 * A compiled kernel: `run(...args, start, end, thread)` computes work units [start, end);
 * `thread` (0 = the calling thread) picks per-thread scratch space.
 */
export interface Kernel {
  readonly id: number;
  readonly module: WasmModule;
  readonly run: (...args: number[]) => void;
}

// Control words per worker: [seq, done, kernel, argc, start, end, args..., DEAD].
export const MAX_THREADS = 64;
const MAX_ARGS = DEAD - 6;

/**
 * Threads over one shared memory. Work is split into contiguous unit ranges, the calling
 * thread takes the first; each unit is computed by exactly one thread in a fixed order, so
 * results never depend on the thread count. Workers sleep in Atomics.wait between tasks.
 */
export class Pool {
  readonly #workers: { worker: Worker; port: MessagePort; known: Set<number> }[] = [];
  readonly #ctrl: Int32Array;
  #seq = 0;

  constructor(
    memory: WasmMemory,
    readonly threads: number = availableParallelism(),
  ) {
    if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) throw new Error(`threads must be an integer in 1..${MAX_THREADS}, got ${threads}`);
    this.#ctrl = new Int32Array(new SharedArrayBuffer(4 * SLOT * Math.max(threads, 1)));
    for (let w = 1; w < threads; w++) {
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { memory, ctrl: this.#ctrl, slot: w * SLOT, port: port2, thread: w },
        transferList: [port2],
      });
      worker.unref();
      port1.unref();
      this.#workers.push({ worker, port: port1, known: new Set() });
    }
  }

  /**
   * Runs `kernel` over `units` work units. Below `minUnitsPerThread` per thread the work stays
   * on the calling thread (waking a worker costs tens of microseconds).
   */
  run(kernel: Kernel, args: readonly number[], units: number, minUnitsPerThread = 1): void {
    const threads = Math.min(this.threads, Math.floor(units / Math.max(minUnitsPerThread, 1)));
    if (threads <= 1 || units <= 1) {
      kernel.run(...args, 0, units, 0);
      return;
    }
    if (args.length > MAX_ARGS) throw new Error(`kernel takes at most ${MAX_ARGS} arguments to run threaded`);
    const seq = ++this.#seq;
    const chunk = Math.ceil(units / threads);
    const c = this.#ctrl;
    for (let w = 1; w < threads; w++) {
      const info = this.#workers[w - 1]!;
      if (!info.known.has(kernel.id)) {
        info.port.postMessage({ id: kernel.id, module: kernel.module });
        info.known.add(kernel.id);
      }
      const s = w * SLOT;
      c[s + 2] = kernel.id;
      c[s + 3] = args.length;
      c[s + 4] = Math.min(units, w * chunk);
      c[s + 5] = Math.min(units, (w + 1) * chunk);
      for (let a = 0; a < args.length; a++) c[s + 6 + a] = args[a]!;
      Atomics.store(c, s, seq);
      Atomics.notify(c, s);
    }
    kernel.run(...args, 0, Math.min(units, chunk), 0);
    for (let w = 1; w < threads; w++) {
      const s = w * SLOT + 1;
      for (let spins = 0; Atomics.load(c, s) !== seq; spins++) {
        if (Atomics.load(c, w * SLOT + DEAD)) throw new Error(`wasm backend: worker thread ${w} failed (its error is on stderr); set EQUIGRAD_THREADS=1 to run without workers`);
        if (spins > 2000) Atomics.wait(c, s, Atomics.load(c, s), 1);
      }
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.worker.terminate()));
  }
}
