import { fromTypedArray, type Tensor } from "@equigrad/tensor";
import type { HostTensor } from "./safetensors.js";

/** Copies a tensor (any backend, any view) to the host. */
export const toHost = (t: Tensor): HostTensor => ({ dtype: t.dtype, shape: [...t.shape], data: t.data() });

/** A tensor on the current backend holding a host tensor's values. */
export const fromHost = (h: HostTensor): Tensor => fromTypedArray(h.data, h.shape, h.dtype);
