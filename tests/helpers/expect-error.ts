import { expect } from "vitest";
import { WorkbenchError } from "../../src/shared/errors.js";

// biome-ignore lint/suspicious/noExplicitAny: a constructor of any error class
type ErrorClass<E> = abstract new (...args: any[]) => E;

/** The error `fn` throws, checked to be a `type` (a WorkbenchError unless said otherwise). */
export function thrownBy<E extends Error = WorkbenchError>(
  fn: () => unknown,
  type: ErrorClass<E> = WorkbenchError as unknown as ErrorClass<E>,
): E {
  try {
    fn();
  } catch (error) {
    expect(error, `expected a ${type.name}`).toBeInstanceOf(type);
    return error as E;
  }
  throw new Error(`expected a ${type.name}, nothing was thrown`);
}

/** The error `promise` rejects with, checked to be a `type` (a WorkbenchError unless said otherwise). */
export async function rejectionOf<E extends Error = WorkbenchError>(
  promise: Promise<unknown>,
  type: ErrorClass<E> = WorkbenchError as unknown as ErrorClass<E>,
): Promise<E> {
  const outcome = await promise.then(
    () => ({ resolved: true as const }),
    (error: unknown) => ({ resolved: false as const, error }),
  );
  if (outcome.resolved) throw new Error(`expected a ${type.name}, the promise resolved`);
  expect(outcome.error, `expected a ${type.name}`).toBeInstanceOf(type);
  return outcome.error as E;
}
