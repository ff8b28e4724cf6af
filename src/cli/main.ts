#!/usr/bin/env node
/**
 * @module The `tessera-session` command: inspect, revoke, purge, check and copy stored sessions.
 */
import { run } from './_run.js';

process.exitCode = await run(process.argv.slice(2), process.env, {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
});
// A driver that keeps a socket or timer open must not keep a finished command running.
setTimeout(() => process.exit(), 2000).unref();
