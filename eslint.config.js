// @ts-check
// ESLint for the whole repo: typescript-eslint's type-checked recommended rules, as the Nest CLI's
// scaffolds enable them, then Prettier's config (formatting is Prettier's job, not the linter's).
import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.dbg/**', 'test/.readme/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  prettier,
  {
    languageOptions: {
      globals: { ...globals.node, ...globals.vitest },
      parserOptions: { project: './tsconfig.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      // A promise nobody awaits or catches is how an etcd outage would crash an app: always an error.
      '@typescript-eslint/no-floating-promises': 'error',
      // A leading underscore says "unused on purpose" (an interface's parameter, a field left out of a rest).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      // An async method that does not await keeps its interface's contract (in-memory fakes, `cancel()`).
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Tests read JSON bodies, etcd values and Nest's `getHttpServer()` (typed any) and assert on them:
    // the unsafe-any rules guard the library's code, where a value's type is a promise to users.
    files: ['**/*.spec.ts', '**/*.e2e-spec.ts', 'test/**/*.ts', 'bench/**/*.ts', 'tools/**/*.ts', 'apps/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // Prettier wraps code at 120 columns but not strings or comments; the library keeps every line within it.
    files: ['libs/**/*.ts'],
    rules: { 'max-len': ['error', { code: 120, ignoreUrls: false }] },
  },
);
