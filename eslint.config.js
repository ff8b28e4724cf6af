// @ts-check
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      '.services/**',
      '.scratch/**',
      'bench/results/**',
    ],
  },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // Store methods are async to honour the Store interface even when they need no await.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['src/core/**/*.ts', 'src/index.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            'ioredis',
            'redis',
            '@redis/client',
            'memjs',
            'pg',
            'mysql2',
            'mysql2/promise',
            'better-sqlite3',
            'mongodb',
            'couchbase',
            'express',
            'fastify',
            'koa',
            'hono',
            'next',
            'next/headers',
            'ws',
            'prom-client',
            '@opentelemetry/api',
            'vitest',
          ].map((name) => ({
            name,
            message:
              'The core imports no driver or framework: keep it in src/stores or src/adapters.',
          })),
          patterns: [
            {
              regex: '^(\\.\\./)+(stores|adapters|testing|observe|limit|cli|migrate|next)(/|$)',
              message:
                'The core imports no store, adapter or extension: they build on the core, never the other way round (the entry point supplies the default store).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/stores/**/*.ts'],
    ignores: ['src/stores/registry.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex:
                '(^|/)registry\\.js$|^(\\.\\./)+(adapters|testing|observe|limit|cli|migrate)(/|$)',
              message:
                'A store imports only core modules and its own folder, _shared or _sql: never the registry (it imports the stores) or an adapter.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/adapters/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+stores(/|$)',
              message: 'An adapter knows the manager, never a store.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'examples/**/*.ts', 'scripts/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
      // vitest's asymmetric matchers (expect.stringContaining, …) are typed `any`.
      '@typescript-eslint/no-unsafe-assignment': 'off',
    },
  },
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
);
