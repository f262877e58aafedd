// Type-aware lint. The import rules keep the layers pointing inward: core imports nothing of
// ours, store and app never import the server or the CLI, and the capability declarations
// (src/capabilities/) import only core and store: they load their server, CLI and job parts with
// import(), so the store and the use cases may read the registry.
import tseslint from 'typescript-eslint';

const CLOCK = 'use the clock in deps (Clock in src/app/deps.ts): core and app read the time only there, so that tests can set it';
const restrict = (patterns, message) => ['error', { patterns: patterns.map((group) => ({ group: [group], message })) }];

export default tseslint.config(
  { ignores: ['node_modules/', 'web/dist/', 'bench/out/', 'coverage/'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/only-throw-error': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // A capability's permissions merge into PermissionCatalogue as `interface … extends Record<…> {}`.
      '@typescript-eslint/no-empty-object-type': ['error', { allowInterfaces: 'with-single-extends' }],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(
        ['**/store/**', '**/app/**', '**/server/**', '**/cli/**', '**/adapters/**', '**/config.ts'],
        'core is pure: it imports nothing of the outer layers',
      ),
    },
  },
  {
    files: ['src/store/**/*.ts', 'src/app/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: { 'no-restricted-imports': restrict(['**/server/**', '**/cli/**'], 'store and app do not know how they are served') },
  },
  {
    // A static import from here is loaded by everything that reads the registry (the store does):
    // core and store only. Server, CLI and job parts are dynamic import()s, which this rule does
    // not see; type-only imports (their part types) are erased and allowed.
    files: ['src/capabilities/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^\\.\\./(?!(core|store)/)',
              message: 'a capability declaration imports only src/core and src/store; load server, CLI and job parts with import()',
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
  {
    // Time and randomness come from deps (app/deps.ts: Clock, Random, Monotonic), so that time
    // math is tested with a clock of the test's own. new Date(x) with an argument is fine.
    files: ['src/core/**/*.ts', 'src/app/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: CLOCK },
        { selector: "CallExpression[callee.name='Date']", message: CLOCK },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: CLOCK },
        {
          object: 'performance',
          property: 'now',
          message: 'take a monotonic reading as an injected source (Monotonic in src/app/deps.ts)',
        },
        { object: 'Math', property: 'random', message: 'take randomness as an injected source (Random in src/app/deps.ts)' },
      ],
    },
  },
  { files: ['**/*.mjs', 'scripts/**'], extends: [tseslint.configs.disableTypeChecked] },
);
