/**
 * Checkpoint folder names. A checkpoint is `step-00001234/` (8 digits, more for later steps)
 * holding model.safetensors, optim.safetensors, checkpoint.json and the DONE marker. Writers
 * build it under a temp name (`.step-….tmp-<pid>-<rand>`) and rename it into place.
 */
export const MODEL_FILE = "model.safetensors";
export const OPTIM_FILE = "optim.safetensors";
export const SIDECAR_FILE = "checkpoint.json";
export const DONE_FILE = "DONE";

export const checkpointName = (step: number): string => `step-${String(step).padStart(8, "0")}`;

/** The step a folder name denotes, or undefined for anything else (temp folders included). */
export function stepOfName(name: string): number | undefined {
  const m = /^step-(\d{8,})$/.exec(name);
  return m ? Number(m[1]) : undefined;
}
