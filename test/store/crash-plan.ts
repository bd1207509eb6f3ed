/** What the crash writer does with message n; shared by the writer and crash.test.ts. */

/** Blocks of 200 messages alternate between fully acked and one-in-four kept. */
export function crashShouldAck(n: number): boolean {
  return Math.floor(n / 200) % 2 === 1 || n % 4 !== 0;
}

export function crashQueues(n: number): string[] {
  return n % 5 === 0 ? ['q', 'r'] : ['q'];
}
