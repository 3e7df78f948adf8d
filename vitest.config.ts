import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          sequence: { groupOrder: 0 },
          include: ['operator/src/**/*.test.ts', 'operator/tools/**/*.test.ts', 'cdk8s/**/*.test.ts'],
          exclude: ['**/node_modules/**', 'cdk8s/imports/**', 'cdk8s/build/**'],
        },
      },
      {
        test: {
          name: 'integration',
          sequence: { groupOrder: 1 },
          include: ['test/**/*.test.ts'],
          globalSetup: ['test/setup/global.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          pool: 'forks',
          // Tests share one control plane and one database; every test works in names of its own.
          maxWorkers: 2,
        },
      },
    ],
  },
});
