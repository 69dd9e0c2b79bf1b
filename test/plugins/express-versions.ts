/** The Express majors the adapter is tested against: each Express suite runs once per entry. */
import { createRequire } from 'node:module';
import express5 from 'express';
import express4 from 'express4';

/** An Express module (`express` or the `express4` alias). */
export type ExpressModule = typeof express5;

const require = createRequire(import.meta.url);

/** `[label, express, installed version]` of each major; the label goes into the suite names. */
export const EXPRESS_VERSIONS: ReadonlyArray<readonly [label: string, express: ExpressModule, version: string]> = [
  ['Express 5', express5, (require('express/package.json') as { version: string }).version],
  ['Express 4', express4, (require('express4/package.json') as { version: string }).version],
];
