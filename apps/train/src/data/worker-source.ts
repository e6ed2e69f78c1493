/**
 * The tokenizer worker's body, shipped as a string and started with `new Worker(src, { eval: true })`.
 * A string survives both the esbuild bundle (dist/index.js) and vitest (src/*.ts), where a worker
 * file path would differ or not exist. It is plain CommonJS: it `require`s js-tiktoken by the
 * absolute paths the main thread resolved from the app's node_modules.
 *
 * Protocol: workerData { tokenizer: "byte" | "gpt2", lite?, ranks? }; each message
 * { docs: string[] } gets one { index, tokens: Uint32Array } reply per document (buffer
 * transferred), then { done: true }; a failure replies { error }.
 */
export const TOKENIZE_WORKER_SOURCE = String.raw`
const { parentPort, workerData } = require("node:worker_threads");
let encode;
if (workerData.tokenizer === "gpt2") {
  const { Tiktoken } = require(workerData.lite);
  const enc = new Tiktoken(require(workerData.ranks));
  encode = (text) => Uint32Array.from(enc.encode(text, [], []));
} else if (workerData.tokenizer === "byte") {
  const te = new TextEncoder();
  encode = (text) => Uint32Array.from(te.encode(text));
} else {
  throw new Error("tokenizer worker: unknown tokenizer " + workerData.tokenizer);
}
parentPort.on("message", (job) => {
  try {
    for (let index = 0; index < job.docs.length; index++) {
      const tokens = encode(job.docs[index]);
      parentPort.postMessage({ index, tokens }, [tokens.buffer]);
    }
    parentPort.postMessage({ done: true });
  } catch (e) {
    parentPort.postMessage({ error: String((e && e.stack) || e) });
  }
});
`;
