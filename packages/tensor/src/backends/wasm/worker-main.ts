/**
 * The body of a pool worker, as plain JavaScript source: bundlers rewrite `require` in
 * compiled functions, so the worker's code is a string that no tool touches.
 * It sleeps on its control slot, instantiates kernels it receives on its port (read
 * synchronously with receiveMessageOnPort), runs its range and signals completion. If anything
 * fails it marks itself dead (word DEAD of its slot) so the main thread reports it instead of waiting.
 */
export const SLOT_WORDS = 16;
export const DEAD = 15;

export const WORKER_SOURCE = `
const { workerData, receiveMessageOnPort } = require("node:worker_threads");
const { memory, ctrl, slot, port, thread } = workerData;
const kernels = new Map();
let last = 0;
try {
  for (;;) {
    let spins = 0;
    while (Atomics.load(ctrl, slot) === last) {
      if (++spins > 2000) Atomics.wait(ctrl, slot, last, 50);
    }
    last = Atomics.load(ctrl, slot);
    const id = ctrl[slot + 2];
    let run = kernels.get(id);
    while (!run) {
      const msg = receiveMessageOnPort(port);
      if (!msg) throw new Error("kernel " + id + " was never sent to this worker");
      kernels.set(msg.message.id, new WebAssembly.Instance(msg.message.module, { env: { memory } }).exports.run);
      run = kernels.get(id);
    }
    const args = [];
    for (let a = 0; a < ctrl[slot + 3]; a++) args.push(ctrl[slot + 6 + a]);
    run(...args, ctrl[slot + 4], ctrl[slot + 5], thread);
    Atomics.store(ctrl, slot + 1, last);
    Atomics.notify(ctrl, slot + 1);
  }
} catch (e) {
  console.error("equigrad wasm worker " + thread + " failed:", e);
  Atomics.store(ctrl, slot + ${DEAD}, 1);
  Atomics.notify(ctrl, slot + 1);
}
`;
