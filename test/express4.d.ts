/**
 * Types of the `express4` alias (`npm:express@^4`, a dev dependency for testing the Express adapter on Express 4):
 * the package bundles no types, so it borrows those of `express`. The tests only use what both majors share.
 */
declare module 'express4' {
  import express from 'express';
  export default express;
}
