/**
 * Decisions the kernel leaves to chance (statistic --mode random, ephemeral
 * ports, random-fully NAT ports) come from a `Chooser`. A seeded chooser makes
 * every run reproducible; an enumerating chooser lets the tracer walk every
 * branch with its probability (`--all-paths`).
 */

export interface Chooser {
  /** True with probability `p` (0..1). `label` names the decision for the trace. */
  chance(p: number, label: string): boolean;
  /** An integer in [from, to], uniformly. */
  integer(from: number, to: number, label: string): number;
}

/** mulberry32: small, fast, good enough for simulation, and seedable. */
export class SeededChooser implements Chooser {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  private next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  integer(from: number, to: number): number {
    return from + Math.floor(this.next() * (to - from + 1));
  }
}

/**
 * Replays a fixed list of chance outcomes, then takes `true` and records the
 * decision points it met, so a driver can enumerate every branch by depth-first
 * search: run with prefix [], then flip the last undecided point, and so on.
 */
export class ScriptedChooser implements Chooser {
  readonly taken: { label: string; p: number; value: boolean }[] = [];
  private i = 0;
  constructor(
    private readonly script: readonly boolean[],
    private readonly fallback: Chooser,
  ) {}
  chance(p: number, label: string): boolean {
    const value = this.i < this.script.length ? this.script[this.i]! : p > 0;
    this.i++;
    this.taken.push({ label, p, value });
    return value;
  }
  integer(from: number, to: number, label: string): number {
    return this.fallback.integer(from, to, label);
  }
}

export interface Branch<T> {
  readonly probability: number;
  readonly decisions: readonly { label: string; p: number; value: boolean }[];
  readonly result: T;
}

/**
 * Runs `run` once per combination of chance outcomes it can meet, returning
 * each result with its probability. Outcomes of probability 0 are pruned.
 */
export function enumerateBranches<T>(
  run: (chooser: Chooser) => T,
  fallback: Chooser,
  limit = 4096,
): Branch<T>[] {
  const out: Branch<T>[] = [];
  const stack: boolean[][] = [[]];
  while (stack.length > 0) {
    const script = stack.pop()!;
    const chooser = new ScriptedChooser(script, fallback);
    const result = run(chooser);
    let probability = 1;
    for (const d of chooser.taken) probability *= d.value ? d.p : 1 - d.p;
    if (probability > 0) out.push({ probability, decisions: chooser.taken, result });
    // Every decision beyond the script was taken as `true`; schedule its `false` twin.
    for (let k = chooser.taken.length - 1; k >= script.length; k--) {
      const d = chooser.taken[k]!;
      if (d.value && d.p < 1) {
        stack.push([...chooser.taken.slice(0, k).map((t) => t.value), false]);
      }
    }
    if (out.length > limit) throw new RangeError(`more than ${limit} branches`);
  }
  return out;
}
