/**
 * msgpackr's decoder without code generation (`msgpackr/unpack-no-eval`, shipped with msgpackr for strict CSP): the
 * same `Unpackr` and `addExtension` as the main entry's, built from the same source, with no types of its own.
 */
declare module 'msgpackr/unpack-no-eval' {
  export { Unpackr, addExtension } from 'msgpackr';
}
