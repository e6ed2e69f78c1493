/** Progress of a long job: one redrawn line on a terminal, plain lines in logs. */
export class Progress {
  readonly #tty: boolean;
  readonly #t0 = performance.now();
  #last = "";

  constructor(
    readonly total: number,
    readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.#tty = Boolean(stream.isTTY) && process.env.CI !== "true";
  }

  /** Seconds since the start. */
  get elapsed(): number {
    return (performance.now() - this.#t0) / 1000;
  }

  /** Updates the line for `done` units of work; `always` also prints it on a non-terminal. */
  update(done: number, fields: Record<string, string>, always = false): void {
    const rate = done / Math.max(this.elapsed, 1e-9);
    const eta = rate > 0 ? (this.total - done) / rate : 0;
    const text = [`step ${String(done).padStart(String(this.total).length)}/${this.total}`, ...Object.entries(fields).map(([k, v]) => `${k} ${v}`), `elapsed ${clock(this.elapsed)}`, `eta ${clock(eta)}`].join(" | ");
    if (this.#tty) {
      this.stream.write(`\r${text.padEnd(this.#last.length)}`);
      this.#last = text;
    } else if (always) this.stream.write(`${text}\n`);
  }

  /** Prints a line above the progress line. */
  log(line: string): void {
    if (this.#tty && this.#last) this.stream.write(`\r${" ".repeat(this.#last.length)}\r`);
    this.stream.write(`${line}\n`);
    if (this.#tty && this.#last) this.stream.write(this.#last);
  }

  done(): void {
    if (this.#tty && this.#last) this.stream.write("\n");
    this.#last = "";
  }
}

export function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const mm = String(m).padStart(h ? 2 : 1, "0");
  return `${h ? `${h}:` : ""}${mm}:${String(s % 60).padStart(2, "0")}`;
}
