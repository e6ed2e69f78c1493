import type { MemoryStats } from "../backend/backend.js";
import { getBackend } from "../backend/registry.js";

/** Live buffers and bytes on a backend (default: the current one): flat across steps means no leak. */
export const memoryStats = (backend?: string): MemoryStats => getBackend(backend).stats();
