/**
 * `infercache warm FILE --module PATH`: runs a list of calls (a JSON array, or NDJSON: one call per line) against a
 * module's exports, e.g. `{ "call": "priceService.predict", "args": [{ "region": "eu" }] }`; the exports do their
 * own caching (decorated methods, `cache.wrap`), so the entries land where the app reads them. A `close()` export,
 * when there is one, is awaited after the calls (to let the module's cache finish its writes and disconnect).
 */
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { CliError } from './entries.js';
import { progressBar } from './format.js';

/** One call of a warm-up file. */
export interface WarmCall {
  /** An export, or a dotted path to a method of one (`service.predict`, called on `service`). */
  call: string;
  args?: unknown[];
}

/** Parses a warm-up file: a JSON array of calls, or one JSON call per line. */
export function parseCalls(text: string, file: string): WarmCall[] {
  const trimmed = text.trim();
  let calls: unknown[];
  if (trimmed.startsWith('[')) {
    try {
      calls = JSON.parse(trimmed) as unknown[];
    } catch (error) {
      throw new CliError(`${file}: not valid JSON (${(error as Error).message})`, 2);
    }
  } else {
    calls = trimmed
      .split('\n')
      .map((line, i) => [line.trim(), i + 1] as const)
      .filter(([line]) => line !== '')
      .map(([line, n]) => {
        try {
          return JSON.parse(line) as unknown;
        } catch (error) {
          throw new CliError(`${file}:${n}: not valid JSON (${(error as Error).message})`, 2);
        }
      });
  }
  return calls.map((c, i) => {
    const call = c as WarmCall;
    if (typeof call !== 'object' || call === null || typeof call.call !== 'string') {
      throw new CliError(`${file}: call ${i + 1} needs "call": "exportName"`, 2);
    }
    if (call.args !== undefined && !Array.isArray(call.args)) {
      throw new CliError(`${file}: call ${i + 1}: "args" must be an array`, 2);
    }
    return call;
  });
}

/** Finds the function a call names, bound to the object it belongs to. */
function target(module: Record<string, unknown>, path: string): (...args: unknown[]) => unknown {
  let owner: unknown = module;
  let value: unknown = module;
  for (const part of path.split('.')) {
    owner = value;
    value = (value as Record<string, unknown> | undefined)?.[part];
  }
  if (typeof value !== 'function') throw new CliError(`the module has no function ${JSON.stringify(path)}`, 2);
  return (value as (...args: unknown[]) => unknown).bind(owner);
}

/** Runs every call with `concurrency` at once, drawing a progress bar on `progress`; resolves the failures. */
export async function warm(
  file: string,
  modulePath: string,
  concurrency: number,
  progress: NodeJS.WritableStream,
): Promise<{ done: number; failed: Array<{ call: string; error: string }> }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as Error).message}`, 2);
  }
  const calls = parseCalls(text, file);
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(resolve(modulePath)).href)) as Record<string, unknown>;
  } catch (error) {
    throw new CliError(`cannot load module ${modulePath}: ${(error as Error).message}`, 2);
  }
  const fns = calls.map((c) => target(module, c.call));
  const failed: Array<{ call: string; error: string }> = [];
  let next = 0;
  let done = 0;
  const draw = () => progress.write(`\r${progressBar(done, calls.length)}`);
  draw();
  const worker = async () => {
    while (next < calls.length) {
      const i = next++;
      try {
        await fns[i]!(...(calls[i]!.args ?? []));
      } catch (error) {
        failed.push({ call: calls[i]!.call, error: (error as Error)?.message ?? String(error) });
      }
      done++;
      draw();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, calls.length) }, worker));
  progress.write('\n');
  if (typeof module.close === 'function') await (module.close as () => unknown)();
  return { done, failed };
}
