// A Queue binding for tests: keeps what is sent, as the queue hands it on (structured clones, not
// the sender's objects), for the test to give to the consumer when it chooses.
export class RecordingQueue<T> {
  readonly messages: T[] = [];
  /** The delay each send asked for (`delaySeconds`), in the order of `messages` sent so far. */
  readonly delays: (number | undefined)[] = [];
  /** Set to make every send fail, as an unavailable queue does. */
  failing = false;

  /** `check` sees each send's bodies first and may refuse them (a queue's size limits). */
  constructor(private readonly check?: (bodies: T[]) => void) {}

  async send(body: T, options?: QueueSendOptions): Promise<void> {
    await this.sendBatch([{ body, delaySeconds: options?.delaySeconds }]);
  }

  async sendBatch(items: Iterable<{ body: T; delaySeconds?: number }>): Promise<void> {
    if (this.failing) throw new Error("queue unavailable");
    const sent = [...items];
    const bodies = sent.map((m) => m.body);
    this.check?.(bodies);
    this.messages.push(...bodies.map((b) => structuredClone(b)));
    this.delays.push(...sent.map((m) => m.delaySeconds));
  }

  /** Takes the messages queued so far (and forgets their delays). */
  take(): T[] {
    this.delays.splice(0);
    return this.messages.splice(0);
  }
}

/** A batch of `bodies` as the queue hands it to a consumer, counting what the consumer acks and retries. */
export function countedBatch<T>(
  queue: string,
  bodies: T[],
  attempts = 1,
): { batch: MessageBatch<T>; counts: { acked: number; retried: number } } {
  const counts = { acked: 0, retried: 0 };
  const batch = {
    queue,
    messages: bodies.map((body, i) => ({
      id: String(i),
      timestamp: new Date(),
      attempts,
      body,
      ack: () => void counts.acked++,
      retry: () => void counts.retried++,
    })),
    ackAll: () => undefined,
    retryAll: () => undefined,
  } as unknown as MessageBatch<T>;
  return { batch, counts };
}
