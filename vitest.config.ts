import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // The machine is a shared 2-core box; under the full suite (REST fuzzing included) start-ups are slow.
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // Two cores: more workers than that only thrash the databases.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
