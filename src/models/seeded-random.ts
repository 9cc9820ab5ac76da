import { createRng } from "../shared/random.js";

/**
 * Runs `fn` with Math.random replaced by a seeded generator, then restores it. TensorFlow.js draws
 * dropout masks (and any unseeded initialiser) from Math.random; this makes training reproducible.
 * Only one such section runs at a time per process (trainings are serialised by the caller).
 */
export async function withSeededRandom<T>(seed: number, fn: () => Promise<T>): Promise<T> {
  const original = Math.random;
  Math.random = createRng(seed);
  try {
    return await fn();
  } finally {
    Math.random = original;
  }
}
