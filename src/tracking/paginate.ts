import type { Page } from "./types.js";

/** Walks every page of a listing, yielding items lazily; stops after `limit` items when given. */
export async function* paginate<T>(
  fetchPage: (pageToken: string | undefined) => Promise<Page<T>>,
  limit?: number,
): AsyncGenerator<T, void, undefined> {
  let token: string | undefined;
  let yielded = 0;
  do {
    const page = await fetchPage(token);
    for (const item of page.items) {
      if (limit !== undefined && yielded >= limit) return;
      yielded++;
      yield item;
    }
    token = page.nextPageToken;
  } while (token !== undefined);
}

/** Drains an async iterable into an array. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
