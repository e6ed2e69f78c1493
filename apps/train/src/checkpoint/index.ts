/**
 * Checkpoints and safetensors.
 *
 *   saveCheckpoint(dir, { step, params, optim?, configHash, state?, metrics? }, { keepLast? }?): string
 *       → dir/step-00001234/{model.safetensors, optim.safetensors, checkpoint.json, DONE}, written
 *         in a temp folder (fsynced) and renamed into place; optimizer numbers go in metadata.
 *   loadCheckpoint(stepDir): { dir, meta, params: Record<path, Tensor>, optim: Record<key, Tensor | number> }
 *   readCheckpointMeta(stepDir): CheckpointMeta    { step, configHash, state, metrics, createdAt, ... }
 *   latestCheckpoint(dir): string | undefined      newest complete one; temp / unmarked folders ignored
 *   listCheckpoints(dir): { step, dir }[]          pruneCheckpoints(dir, keepLast): string[]
 *
 *   encodeSafetensors(tensors, metadata?) / decodeSafetensors(bytes, file?)     F32 F64 I32 BOOL
 *   writeSafetensors(path, tensors, metadata?) / readSafetensors(path): { tensors, metadata }
 *     errors are SafetensorsError { file, code }; HostTensor = { dtype, shape, data }; toHost / fromHost
 *   writeFileAtomic(path, data), writeFileDurable(path, data): temp + fsync + rename helpers.
 */
export { saveCheckpoint, loadCheckpoint, readCheckpointMeta, CHECKPOINT_FORMAT, CHECKPOINT_VERSION, type CheckpointInput, type CheckpointMeta, type LoadedCheckpoint, type SaveOptions, type Json } from "./checkpoint.js";
export { latestCheckpoint, listCheckpoints, pruneCheckpoints, type CheckpointEntry } from "./discover.js";
export { checkpointName, MODEL_FILE, OPTIM_FILE, SIDECAR_FILE, DONE_FILE } from "./layout.js";
export { encodeSafetensors, decodeSafetensors, readSafetensors, writeSafetensors, SafetensorsError, type HostTensor, type Safetensors, type SafetensorsErrorCode } from "./safetensors.js";
export { toHost, fromHost } from "./host.js";
export { writeFileAtomic, writeFileDurable } from "./atomic.js";
