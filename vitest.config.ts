import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // graphql 16 ships CommonJS (`main`) and ESM (`module`) builds. Node (and so every dependency,
    // Pothos and Yoga included) loads the CommonJS one; Vite would hand our own files the ESM one,
    // and graphql refuses to mix the two ("from another module or realm").
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    // Generous: CI machines are 2-core, and child-process tests start tsx and PGlite from scratch.
    testTimeout: 120_000,
    hookTimeout: 90_000,
    // Two cores: more workers than that only thrash the databases.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
