/**
 * Exits with `code` once stdout and stderr have handed everything written to the OS. Calling
 * process.exit() straight after writing to a pipe drops whatever the reader has not taken yet
 * beyond the pipe's buffer (64 KiB): `warrenctl list_queues | grep q` lost queues. A reader
 * that went away (EPIPE) ends the wait too.
 */
export function exitAfterOutput(code: number): void {
  let pending = 2;
  const done = (): void => {
    if (--pending === 0) process.exit(code);
  };
  for (const stream of [process.stdout, process.stderr]) {
    stream.once('error', () => process.exit(code));
    stream.write('', done);
  }
}
