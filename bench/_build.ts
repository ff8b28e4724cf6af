/**
 * @module Compiles the bench servers and the source they import to plain JavaScript before they run.
 *
 * tsx compiles with esbuild's `keepNames`, which wraps every function created at run time in a
 * `__name(fn, "name")` call (an `Object.defineProperty` per closure, per request). Published
 * packages are plain JavaScript and tessera ships `tsc` output, so running the servers under tsx
 * would charge tessera for a cost its users never pay. Each file of src/ and bench/ is compiled on
 * its own, as `tsc` does (same tree, same `.js` specifiers), into node_modules/.cache, so package
 * imports resolve as usual and a file another change left broken only matters if a server imports it.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type * as Esbuild from 'esbuild';

const ROOT = new URL('..', import.meta.url).pathname;
/** Where the compiled tree goes (under node_modules, so bare package imports resolve). */
const OUT = join(ROOT, 'node_modules/.cache/tessera-bench/');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'results' ? [] : sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/**
 * Compiles src/ and bench/ and returns the compiled file of each server, or a reason when esbuild
 * (installed with tsx) cannot be loaded; the caller then runs the sources under tsx.
 */
export async function buildServers(): Promise<
  { file(id: string): string; failed: string[] } | { skipped: string }
> {
  let esbuild: typeof Esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    return { skipped: 'esbuild (a dependency of tsx) could not be imported' };
  }
  const failed: string[] = [];
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, 'package.json'), '{ "type": "module" }\n');
  await Promise.all(
    [...sources(join(ROOT, 'src')), ...sources(join(ROOT, 'bench'))].map(async (path) => {
      const rel = relative(ROOT, path);
      try {
        const { code } = await esbuild.transform(readFileSync(path, 'utf8'), {
          loader: 'ts',
          format: 'esm',
          target: 'node20',
          sourcefile: rel,
          tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true } },
        });
        const out = join(OUT, rel.replace(/\.ts$/, '.js'));
        mkdirSync(dirname(out), { recursive: true });
        writeFileSync(out, code);
      } catch {
        failed.push(rel);
      }
    }),
  );
  return { file: (id) => join(OUT, `bench/servers/${id}.js`), failed };
}
