/** A training run stopped for a reason the user must act on; nothing already saved is lost. */
export class TrainingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TrainingError";
  }
}
