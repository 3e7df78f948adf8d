// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['node_modules/', 'dist/', 'cdk8s/imports/', 'cdk8s/dist/', 'cdk8s/build/', 'crds/', 'charts/'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
      eqeqeq: ['error', 'always'],
    },
  },
  {
    // Operator code reads its configuration in one place (config.ts); tools and tests may write to stdout.
    files: ['operator/tools/**', 'test/**', 'cdk8s/**'],
    rules: { 'no-console': 'off' },
  },
);
