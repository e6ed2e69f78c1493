import { Worker } from "node:worker_threads";
import { builtinName } from "../tokenizers/builtin.js";
import { tiktokenPaths } from "../tokenizers/gpt2.js";
import type { Tokenizer } from "../tokenizers/types.js";
import type { Doc } from "./corpus.js";
import { TOKENIZE_WORKER_SOURCE } from "./worker-source.js";

/** Progress of one split's tokenization. */
export interface TokenizeProgress {
  split: string;
  docsDone: number;
  docsTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

export interface TokenizeOptions {
  /** Tokenize in a worker thread (default true; custom tokenizers always run in-thread). */
  worker?: boolean;
  onProgress?: (p: TokenizeProgress) => void;
}

export interface Split {
  name: string;
  docs: Doc[];
}

/**
 * The token streams of several splits, documents joined by `joinDocuments`. With a built-in
 * tokenizer the work runs in a worker thread so the event loop stays free; a custom tokenizer
 * (which cannot be sent to a worker) runs here, yielding to the event loop between documents.
 */
export async function tokenizeSplits(splits: Split[], tokenizer: Tokenizer, opts: TokenizeOptions = {}): Promise<Uint32Array[]> {
  const name = builtinName(tokenizer);
  const useWorker = (opts.worker ?? true) && name !== undefined;
  const out: Uint32Array[] = [];
  const worker = useWorker ? startWorker(name) : undefined;
  try {
    for (const split of splits) {
      const progress = progressOf(split, opts.onProgress);
      const perDoc = worker ? await inWorker(worker, split.docs, progress) : await inThread(split.docs, tokenizer, progress);
      out.push(joinDocuments(perDoc, tokenizer));
    }
  } finally {
    await worker?.terminate();
  }
  return out;
}

/**
 * One stream from per-document tokens. With an EOT token every document is preceded by it
 * (llm.c's convention: EOT delimits all documents); without one (byte level) documents are
 * joined by the tokens of "\n\n", as `splitByYear` joins speeches.
 */
export function joinDocuments(perDoc: ArrayLike<number>[], tokenizer: Tokenizer): Uint32Array {
  const sep = tokenizer.eotToken !== undefined ? [tokenizer.eotToken] : Array.from(tokenizer.encode("\n\n"));
  const lead = tokenizer.eotToken !== undefined;
  const n = perDoc.reduce((s, d, i) => s + d.length + (lead || i > 0 ? sep.length : 0), 0);
  const out = new Uint32Array(n);
  let o = 0;
  perDoc.forEach((d, i) => {
    if (lead || i > 0) (out.set(sep, o), (o += sep.length));
    out.set(d, o);
    o += d.length;
  });
  return out;
}

function progressOf(split: Split, cb: TokenizeOptions["onProgress"]): (i: number) => void {
  if (!cb) return () => {};
  const bytes = split.docs.map((d) => Buffer.byteLength(d.text, "utf8"));
  const bytesTotal = bytes.reduce((a, b) => a + b, 0);
  let bytesDone = 0;
  return (i) => {
    bytesDone += bytes[i]!;
    cb({ split: split.name, docsDone: i + 1, docsTotal: split.docs.length, bytesDone, bytesTotal });
  };
}

async function inThread(docs: Doc[], tokenizer: Tokenizer, progress: (i: number) => void): Promise<Uint32Array[]> {
  const out: Uint32Array[] = [];
  for (let i = 0; i < docs.length; i++) {
    const ids = tokenizer.encode(docs[i]!.text);
    out.push(ids instanceof Uint32Array ? ids : Uint32Array.from(ids));
    progress(i);
    await new Promise<void>((r) => setImmediate(r)); // let timers and IO run between documents
  }
  return out;
}

function startWorker(name: string): Worker {
  const workerData = name === "gpt2" ? { tokenizer: name, ...tiktokenPaths() } : { tokenizer: name };
  return new Worker(TOKENIZE_WORKER_SOURCE, { eval: true, workerData });
}

function inWorker(worker: Worker, docs: Doc[], progress: (i: number) => void): Promise<Uint32Array[]> {
  return new Promise((resolve, reject) => {
    const out: Uint32Array[] = new Array(docs.length);
    const cleanup = (): void => {
      worker.off("message", onMessage);
      worker.off("error", onError);
      worker.off("exit", onExit);
    };
    const onMessage = (m: { index?: number; tokens?: Uint32Array; done?: boolean; error?: string }): void => {
      if (m.error !== undefined) (cleanup(), reject(new Error(`tokenizer worker failed: ${m.error}`)));
      else if (m.done) (cleanup(), resolve(out));
      else {
        out[m.index!] = m.tokens!;
        progress(m.index!);
      }
    };
    const onError = (e: Error): void => (cleanup(), reject(new Error(`tokenizer worker failed: ${e.message}`, { cause: e })));
    const onExit = (code: number): void => (cleanup(), reject(new Error(`tokenizer worker exited early (code ${code})`)));
    worker.on("message", onMessage);
    worker.on("error", onError);
    worker.on("exit", onExit);
    worker.postMessage({ docs: docs.map((d) => d.text) });
  });
}
