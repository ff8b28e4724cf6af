/**
 * The store contract suite ships in the package (`tessera-session/testing`, src/testing/); the
 * project's own store tests take it from here.
 */
export * from '../../src/testing/index.js';
