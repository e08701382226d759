import { defineConfig } from 'vitest/config';

// Integration tests start real processes and real sockets: on a busy 2-core
// machine they need generous timeouts and must not all run at once.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    testTimeout: 60_000,
    hookTimeout: 45_000,
    fileParallelism: false,
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
