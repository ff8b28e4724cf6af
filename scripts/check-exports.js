// Checks that every subpath export of package.json points at a built file, and that every store
// and adapter module has an export (unstorage's validatePkg idea). Run after `npm run build`.
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const problems = [];
for (const [subpath, target] of Object.entries(pkg.exports)) {
  if (typeof target === 'string') continue;
  if (subpath.includes('*')) continue;
  for (const file of [target.types, target.default])
    if (!existsSync(file)) problems.push(`${subpath} → ${file} is missing`);
}
// One folder per store; only its index is public (`./stores/*` → `dist/stores/*/index.js`).
for (const entry of readdirSync('src/stores', { withFileTypes: true })) {
  if (!entry.isDirectory() || entry.name.startsWith('_')) continue;
  for (const built of [
    `dist/stores/${entry.name}/index.js`,
    `dist/stores/${entry.name}/index.d.ts`,
  ])
    if (!existsSync(built)) problems.push(`store ${entry.name}: ${built} is missing`);
}
const storeExport = pkg.exports['./stores/*'];
if (
  storeExport?.default !== './dist/stores/*/index.js' ||
  storeExport?.types !== './dist/stores/*/index.d.ts'
)
  problems.push('"./stores/*" must resolve to each store folder\'s index only');
for (const file of readdirSync('src/adapters')) {
  if (!file.endsWith('.ts') || file.startsWith('_')) continue;
  const base = file.slice(0, -3);
  if (!pkg.exports[`./${base}`])
    problems.push(`adapter ${base} has no "./${base}" export in package.json`);
}
if (problems.length > 0) {
  console.error(`exports check failed:\n- ${problems.join('\n- ')}`);
  process.exit(1);
}
console.log(`exports check: ${Object.keys(pkg.exports).length} entries match the build`);
