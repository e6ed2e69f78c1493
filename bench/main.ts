// `pnpm bench`: every benchmark, as a table and as JSON lines ({"bench", "value", "unit", "threads", ...}).
//   --quick            fewer repetitions
//   --only=a,b         sections: matmul, throughput, attention, blocks, demo, train (wasm + onnx, each case followed by PyTorch where available), train-onnx, torch (PyTorch alone), optim
import { availableParallelism } from "node:os";
import { runMatmulBench } from "../packages/tensor/bench/matmul.js";
import { runThroughputBench } from "../packages/tensor/bench/throughput.js";
import { runAttentionBench } from "../packages/tensor/bench/attention.js";
import { runBlocksBench } from "./blocks.js";
import { runDemoBench } from "./demo.js";
import { runTorchReference, runTrainBench, runTrainOnnxBench } from "./train.js";
import { runOptimBench } from "./optim.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const only = args.find((a) => a.startsWith("--only="))?.slice(7).split(",");
const want = (s: string) => !only || only.includes(s);
const threads = [...new Set([1, Math.min(2, availableParallelism())])];

console.log(`equigrad benchmarks — node ${process.version}, ${availableParallelism()} cores${quick ? ", quick" : ""}`);
if (want("matmul")) runMatmulBench({ threads, quick });
if (want("throughput")) runThroughputBench(threads, quick);
if (want("attention")) runAttentionBench({ threads, quick });
if (want("blocks")) runBlocksBench(availableParallelism(), quick);
if (want("demo")) runDemoBench(availableParallelism(), quick);
if (want("train")) runTrainBench(threads, quick);
if (want("train") || want("train-onnx")) await runTrainOnnxBench(threads[threads.length - 1]!, quick);
if (want("torch")) runTorchReference(threads, quick);
if (want("optim")) runOptimBench(threads[threads.length - 1]!, quick);
process.exit(0);
