/** Decorators warn on the console when there is no cache (and so no logger): capture what they print. */

/** Runs `body` with console.warn captured; returns what it printed. */
export async function consoleWarnings(body: () => unknown): Promise<string[]> {
  const seen: string[] = [];
  const original = console.warn;
  console.warn = (...args: unknown[]) => void seen.push(args.map(String).join(' '));
  try {
    await body();
  } finally {
    console.warn = original;
  }
  return seen;
}
