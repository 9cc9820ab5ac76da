// Helpers shared by the bench:* scripts.

/** An integer flag value >= min, or an error naming the flag. */
export function integerFlag(name: string, text: string, min = 1): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min)
    throw new Error(`--${name} must be an integer >= ${min} (got '${text}').`);
  return n;
}

/** Progress on stderr, so that stdout carries only the JSON lines. */
export function progressLogger(bench: string): (message: string) => void {
  return (message) => console.error(`[${bench}] ${message}`);
}

export const round1 = (x: number) => Number(x.toFixed(1));
export const round3 = (x: number) => Number(x.toFixed(3));
export const round5 = (x: number) => Number(x.toFixed(5));

export function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
