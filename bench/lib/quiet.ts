/**
 * Runs `work` with process.stdout discarding what is written to it. The handlers' audit lines and EMF
 * metrics are still built and serialised (their cost is part of a vend), but 10,000 JSON lines do not
 * flood the terminal; in Lambda they go to an asynchronous pipe, not a tty.
 */
export async function withDiscardedStdout<T>(work: () => Promise<T>): Promise<{ result: T; lines: number }> {
  const original = process.stdout.write;
  let lines = 0;
  process.stdout.write = ((chunk: unknown, ...rest: unknown[]): boolean => {
    lines += 1;
    const callback = rest.find((r): r is () => void => typeof r === 'function');
    callback?.();
    void chunk;
    return true;
  }) as typeof process.stdout.write;
  try {
    return { result: await work(), lines };
  } finally {
    process.stdout.write = original;
  }
}
