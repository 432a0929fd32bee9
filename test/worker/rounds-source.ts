// A test's storage that counts round trips: reads made while the reader waits on nothing else are
// answered together at the next timer turn, so each round is one storage round trip that the
// reader waited for in turn.
import { MemorySource } from "../../src/git/range-source";

export class RoundsSource extends MemorySource {
  rounds = 0;
  reads = 0;
  private waiting: (() => void)[] = [];

  override async read(start: number, end: number): Promise<Uint8Array> {
    this.reads++;
    await new Promise<void>((resolve) => {
      if (this.waiting.length === 0)
        setTimeout(() => {
          this.rounds++;
          const w = this.waiting;
          this.waiting = [];
          for (const f of w) f();
        }, 0);
      this.waiting.push(resolve);
    });
    return super.read(start, end);
  }
}
