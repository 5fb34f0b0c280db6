import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // Real-kernel tests share the host's namespace table; keep files from
    // racing each other on names by running them one file at a time.
    fileParallelism: false,
    testTimeout: 30_000,
  },
});
