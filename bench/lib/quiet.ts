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

/**
 * Runs `work` with the handlers' Powertools telemetry turned down: logs at WARN, EMF metrics not written,
 * and Powertools' "No application metrics to publish" warning dropped from stderr. For virtual-clock
 * scenarios, where telemetry costs CPU but no virtual time, so it changes how long a run takes, not what
 * it measures. Environment variables are read when a logger or metrics object is built: build them inside.
 */
export async function withQuietTelemetry<T>(work: () => Promise<T>): Promise<T> {
  const saved = {
    POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL,
    POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED,
  };
  process.env.POWERTOOLS_LOG_LEVEL = 'WARN';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const originalError = process.stderr.write;
  process.stderr.write = ((chunk: unknown, ...rest: unknown[]): boolean => {
    if (String(chunk).includes('No application metrics to publish')) {
      rest.find((r): r is () => void => typeof r === 'function')?.();
      return true;
    }
    return (originalError as (...args: unknown[]) => boolean).call(process.stderr, chunk, ...rest);
  }) as typeof process.stderr.write;
  try {
    return (await withDiscardedStdout(work)).result;
  } finally {
    process.stderr.write = originalError;
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}
