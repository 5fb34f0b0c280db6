import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * DESIGN.md's layer order, lowest first: a folder of src/ imports only
 * folders of a lower rank (or its own). src/house.test.ts checks the whole
 * import graph against this table (type-only imports and testing/ helpers
 * included); the rule below flags a wrong arrow in the editor.
 */
export const LAYER_RANK = {
  'diag.ts': 0,
  wire: 1,
  kernel: 2,
  vpp: 2,
  k8s: 2,
  iptables: 3,
  cni: 4,
  proxy: 4,
  policy: 4,
  fabric: 4,
  apps: 5,
  twin: 6,
  trace: 7,
  render: 8,
  live: 8,
  emulate: 9,
  bench: 9,
  cli: 10,
  web: 10,
  // The library entry point (the package's `main`): re-exports the floors below, as cli/ uses them.
  'index.ts': 10,
};

/** Per folder: no import of a folder at or above its rank (a relative path climbing out to src/). */
const layerRules = Object.entries(LAYER_RANK)
  .filter(([folder]) => !folder.endsWith('.ts'))
  .map(([folder, rank]) => {
    const above = Object.entries(LAYER_RANK)
      // Top-level files (index.ts) are left to src/house.test.ts: a relative
      // `../index.js` inside a folder's own subfolder names that folder's entry.
      .filter(([other, r]) => other !== folder && !other.endsWith('.ts') && r >= rank)
      .map(([other]) => other.replace(/\.ts$/, '').replace('.', '\\.'));
    return {
      files: [`src/${folder}/**/*.ts`],
      ignores: ['src/**/*.test.ts'],
      rules: {
        'no-restricted-imports': [
          'error',
          {
            patterns: [
              {
                regex: `^(\\.\\./)+(${above.join('|')})(/|\\.js$)`,
                message: `${folder}/ sits below these folders in DESIGN.md's layer order: it may not import them.`,
              },
            ],
          },
        ],
      },
    };
  });

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'web/dist/**'] },
  js.configs.recommended,
  {
    files: ['bin/**/*.js', '*.config.{js,ts}'],
    languageOptions: { globals: { process: 'readonly' } },
  },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-restricted-properties': [
        'error',
        {
          object: 'Math',
          property: 'random',
          message: 'Randomness comes from a seeded generator.',
        },
        { object: 'Date', property: 'now', message: 'Nothing below the CLI reads the clock.' },
      ],
    },
  },
  ...layerRules,
  {
    // The CLI is the adapter at the top: it may read the clock (progress, the fuzz harness's limits).
    files: ['src/cli/**/*.ts', 'src/bench/**/*.ts', 'bin/**/*.js'],
    rules: {
      'no-restricted-properties': [
        'error',
        {
          object: 'Math',
          property: 'random',
          message: 'Randomness comes from a seeded generator.',
        },
      ],
    },
  },
);
