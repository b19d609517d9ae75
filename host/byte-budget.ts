/**
 * A budget of bytes in flight shared by the streams of one tenant: a stream takes its share
 * (buffers per stream × buffer size) before it starts and gives it back when it ends, so one tenant
 * with many large transfers cannot fill the host's memory. Waiters are served first come, first
 * served; a share larger than the whole budget is clamped to it, so a lone stream always proceeds.
 */
export class ByteBudget {
  #available: number;
  readonly #waiters: { bytes: number; grant: () => void }[] = [];

  constructor(readonly capacity: number) {
    this.#available = capacity;
  }

  get available(): number {
    return this.#available;
  }

  /** Resolves with the release function once `bytes` are available. */
  async acquire(requested: number): Promise<() => void> {
    const bytes = Math.min(requested, this.capacity);
    if (this.#waiters.length === 0 && this.#available >= bytes) this.#available -= bytes;
    else await new Promise<void>((grant) => this.#waiters.push({ bytes, grant }));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#available += bytes;
      this.#serve();
    };
  }

  #serve(): void {
    while (this.#waiters.length > 0 && this.#available >= this.#waiters[0].bytes) {
      const waiter = this.#waiters.shift()!;
      this.#available -= waiter.bytes;
      waiter.grant();
    }
  }
}
