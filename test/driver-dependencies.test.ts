/**
 * Every driver or framework a store or adapter imports must be an optional peer dependency, so
 * the core stays small and installing tessera pulls in no driver (unstorage's
 * test/driver-dependencies.test.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { describe, expect, it } from 'vitest';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
};

const IMPORT = /(?:from\s+|import\s*\(\s*)['"]([^'"./][^'"]*)['"]/g;

function packagesImportedBy(file: string): string[] {
  // Imports in doc comments (@example) are not imports.
  const source = readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
  const names = new Set<string>();
  for (const match of source.matchAll(IMPORT)) {
    const spec = match[1]!;
    if (spec.startsWith('node:') || builtinModules.includes(spec) || spec === 'tessera-session')
      continue;
    names.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
  }
  return [...names];
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => `${dir}/${f}`);
}

describe('driver dependencies', () => {
  const runtime = new Set(Object.keys(pkg.dependencies ?? {}));

  it.each(filesUnder('src/stores').concat(filesUnder('src/adapters'), filesUnder('src/migrate')))(
    '%s imports only declared optional peers',
    (file) => {
      for (const name of packagesImportedBy(file)) {
        if (runtime.has(name)) continue;
        expect(
          pkg.peerDependencies?.[name],
          `${file} imports ${name}: declare it in peerDependencies`,
        ).toBeDefined();
        expect(
          pkg.peerDependenciesMeta?.[name]?.optional,
          `${name} must be optional in peerDependenciesMeta`,
        ).toBe(true);
      }
    },
  );

  it('keeps the core free of drivers and frameworks', () => {
    for (const file of filesUnder('src/core').concat('src/index.ts')) {
      for (const name of packagesImportedBy(file))
        expect(runtime.has(name), `${file} imports ${name}`).toBe(true);
    }
  });
});
