// Fails when the modules under src/ import each other in a circle (static imports, `export … from`
// and dynamic `import()` alike), resolving specifiers as TypeScript does. Part of `npm test`.
import { dirname, relative, resolve } from 'node:path';
import ts from 'typescript';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const config = ts.getParsedCommandLineOfConfigFile(
  resolve(root, 'tsconfig.build.json'),
  {},
  { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
);
if (!config) throw new Error('cannot read tsconfig.build.json');
const host = ts.createCompilerHost(config.options);
const files = config.fileNames.filter((f) => f.endsWith('.ts'));
const edges = new Map();

for (const file of files) {
  const source = ts.createSourceFile(file, ts.sys.readFile(file) ?? '', ts.ScriptTarget.Latest);
  const targets = new Set();
  const visit = (node) => {
    let spec;
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier)
      spec = node.moduleSpecifier;
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword)
      spec = node.arguments[0];
    if (spec && ts.isStringLiteral(spec) && spec.text.startsWith('.')) {
      const found = ts.resolveModuleName(spec.text, file, config.options, host).resolvedModule;
      if (found && !found.isExternalLibraryImport) targets.add(resolve(found.resolvedFileName));
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  edges.set(resolve(file), targets);
}

// Depth-first search for back edges; each circle is reported once, by its members.
const state = new Map();
const stack = [];
const circles = [];
function walk(node) {
  state.set(node, 'open');
  stack.push(node);
  for (const next of edges.get(node) ?? []) {
    if (state.get(next) === 'open') circles.push(stack.slice(stack.indexOf(next)).concat(next));
    else if (!state.has(next)) walk(next);
  }
  stack.pop();
  state.set(node, 'done');
}
for (const node of edges.keys()) if (!state.has(node)) walk(node);

const name = (f) => relative(root, f);
if (circles.length > 0) {
  console.error(`import circles in src (${circles.length}):`);
  for (const c of circles) console.error(`- ${c.map(name).join(' → ')}`);
  process.exit(1);
}
console.log(`import check: ${edges.size} modules under src, no import circle`);
