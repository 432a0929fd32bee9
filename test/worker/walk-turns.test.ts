// Background walks take turns per repository (one whole-tree walk at a time), and a request's
// wait for another request's work ends on a timer of its own: it never waits only on that
// request's I/O, which workerd would cancel it for (utils/request-scope.ts).
import { describe, expect, it } from "vitest";
import { takeTurn, waitAtMost } from "../../src/services/walk-turns";

const repo = (repoId: string) => ({ tenantId: "turns-test", repoId });
/** Settles the microtasks and one timer turn of what is already under way. */
const settle = () => new Promise((r) => setTimeout(r, 0));

describe("walk turns", () => {
  it("run one walk per repository at a time, in the order asked, and other repositories alongside", async () => {
    const order: string[] = [];
    const run = async (name: string, repoId: string, hold: Promise<void>) => {
      const release = await takeTurn(repo(repoId));
      order.push(`start ${name}`);
      await hold;
      order.push(`end ${name}`);
      release();
    };
    let openA = () => {};
    let openB = () => {};
    const a = run("a", "one", new Promise((r) => (openA = r)));
    const b = run("b", "one", new Promise((r) => (openB = r)));
    const c = run("c", "two", Promise.resolve());
    await settle();
    // b waits for a; c (another repository) does not.
    expect(order).toEqual(["start a", "start c", "end c"]);
    openB();
    await settle();
    expect(order).toEqual(["start a", "start c", "end c"]);
    openA();
    await Promise.all([a, b, c]);
    expect(order).toEqual(["start a", "start c", "end c", "end a", "start b", "end b"]);
  });

  it("a wait for work that never settles ends on the waiter's own timer", async () => {
    const never = new Promise<string>(() => {});
    expect(await waitAtMost(never, 5)).toBeUndefined();
    expect(await waitAtMost(Promise.resolve("done"), 60_000)).toBe("done");
  });
});
