/**
 * A small seeded pseudo-random generator (mulberry32) for fault schedules that repeat run after run.
 *
 * @internal Used by `faultServer`; not exported from `syncline/testing`.
 */

/** Returns a function that yields numbers in `[0, 1)`, the same sequence for the same `seed`. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
