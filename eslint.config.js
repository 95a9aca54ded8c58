// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import globals from 'globals';

/** Only the CLI may end the process or read argv; only config loading and the CLI read the environment. */
const processRules = {
  'no-restricted-properties': [
    'error',
    { object: 'process', property: 'exit', message: 'Only src/cli may end the process.' },
    { object: 'process', property: 'argv', message: 'Only src/cli may read argv.' },
  ],
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'coverage/**'] },
  js.configs.recommended,
  { files: ['**/*.cjs'], languageOptions: { sourceType: 'commonjs', globals: globals.node } },
  { files: ['**/*.js', '**/*.mjs'], languageOptions: { globals: globals.node } },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-throw-literal': 'error',
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**'],
    rules: {
      ...processRules,
      'no-console': 'error',
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**', 'src/core/config/**'],
    rules: {
      'no-restricted-properties': [
        ...processRules['no-restricted-properties'],
        {
          object: 'process',
          property: 'env',
          message: 'Only src/cli and src/core/config read the environment.',
        },
      ],
    },
  },
  prettier,
);
