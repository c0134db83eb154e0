import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.data/**', '.tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    // Plain Node scripts.
    files: ['**/*.mjs', 'bin/*'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        require: 'readonly',
        __dirname: 'readonly',
        fetch: 'readonly',
        AbortSignal: 'readonly',
      },
    },
  },
  {
    // The workflow sandbox forbids these; DESIGN.md: workflows/ never imports tfjs, sharp, minio or node:fs.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            '@tensorflow/*',
            'sharp',
            'minio',
            'node:*',
            'fs',
            '../simclr/*',
            '../storage/*',
            '../activities',
            '../activities/*',
          ],
        },
      ],
    },
  },
  {
    // contracts/ crosses the Temporal boundary and is loaded in the workflow sandbox: types, names and
    // the light error classes only, importing nothing but config/ types and itself.
    files: ['contracts/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            '@tensorflow/*',
            '@temporalio/*',
            'sharp',
            'minio',
            'node:*',
            'fs',
            '../simclr/*',
            '../storage/*',
            '../activities',
            '../activities/*',
            '../workflows/*',
            '../workers/*',
          ],
        },
      ],
    },
  },
  {
    // DESIGN.md: activities are thin adapters that meet workflows only through contracts/ (the types
    // of what crosses the boundary); importing workflows/ would pull workflow code into the workers'
    // activity side and let the two drift apart.
    files: ['activities/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['../workflows', '../workflows/*'] }],
    },
  },
);
