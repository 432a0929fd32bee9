// Holds new requests while the runner reloads workerd, after letting in-flight requests finish:
// a reload restarts the runtime and would cut any request it is serving.
export class Gate {
  private inFlight = 0;
  private closed: Promise<void> | null = null;
  private open: (() => void) | null = null;
  private drained: (() => void) | null = null;

  async enter(): Promise<void> {
    while (this.closed) await this.closed;
    this.inFlight++;
  }

  leave(): void {
    this.inFlight--;
    if (this.inFlight === 0) this.drained?.();
  }

  /** Stops admitting requests and resolves once none is in flight. */
  async closeAndDrain(): Promise<void> {
    while (this.closed) await this.closed;
    this.closed = new Promise((resolve) => (this.open = resolve));
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    this.drained = null;
  }

  reopen(): void {
    const open = this.open;
    this.closed = null;
    this.open = null;
    open?.();
  }
}
