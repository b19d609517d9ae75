// Lint: typescript-eslint's recommended rules, type-aware, plus a few strict ones the code keeps.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** What the few plain .js/.mjs scripts use of Node's globals (the .ts files get them from @types/node). */
const NODE_GLOBALS = { process: 'readonly', console: 'readonly', URL: 'readonly' };

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'sample-plugins/*/dist/**', 'test/fixtures/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // A promise nobody awaits loses its error; `void` says it is meant.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // `x != null` (null or undefined) is the one loose comparison kept.
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      // Control characters in patterns are deliberate: MLflow's validations refuse NUL and friends.
      'no-control-regex': 'off',
      'prefer-const': 'error',
      'no-var': 'error',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, globals: NODE_GLOBALS },
  },
);
