import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Tests beside their room in src/; tests across many rooms in test/integration/.
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Real-kernel tests share the host's namespace table; keep files from
    // racing each other on names by running them one file at a time.
    fileParallelism: false,
    testTimeout: 30_000,
  },
});
