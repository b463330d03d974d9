/** Captures everything written to stdout/stderr (Powertools logs, EMF metrics) while a test runs. */
export interface CapturedOutput {
  readonly lines: string[];
  /** Parsed JSON log lines (non-JSON lines are skipped). */
  json(): Record<string, unknown>[];
  restore(): void;
}

export function captureOutput(): CapturedOutput {
  const lines: string[] = [];
  const originals = { out: process.stdout.write, err: process.stderr.write };
  const capture = (chunk: unknown) => {
    lines.push(...String(chunk).split('\n').filter((l) => l.length > 0));
    return true;
  };
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
  return {
    lines,
    json: () =>
      lines.flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      }),
    restore: () => {
      process.stdout.write = originals.out;
      process.stderr.write = originals.err;
    },
  };
}
