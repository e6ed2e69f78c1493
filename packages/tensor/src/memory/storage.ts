import type { Backend } from "../backend/backend.js";
import type { DeviceBuffer } from "../backend/view.js";

/** A backend buffer shared by every tensor that views it; freed when the last one lets go. */
export class Storage {
  private refs = 0;
  constructor(
    readonly backend: Backend,
    readonly buffer: DeviceBuffer,
  ) {}

  retain(): this {
    this.refs++;
    return this;
  }

  release(): void {
    if (--this.refs === 0) this.backend.free(this.buffer);
  }

  get refCount(): number {
    return this.refs;
  }
}
