/**
 * The layer rule of DESIGN.md: imports point down only
 * (cli → pipeline → providers | store → core).
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'core-imports-nothing-of-ours',
      comment: 'src/core is the bottom layer: it imports no other layer.',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: '^src/(providers|store|pipeline|service|cli)/' },
    },
    {
      name: 'providers-import-only-core',
      severity: 'error',
      from: { path: '^src/providers/' },
      to: { path: '^src/(store|pipeline|service|cli)/' },
    },
    {
      name: 'store-imports-only-core',
      severity: 'error',
      from: { path: '^src/store/' },
      to: { path: '^src/(providers|pipeline|service|cli)/' },
    },
    {
      name: 'pipeline-does-not-import-cli',
      severity: 'error',
      from: { path: '^src/pipeline/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'pipeline-reaches-backends-only-through-protocols',
      comment:
        'The pipeline sees providers through the core registry and storage through the Store protocol (src/store/store.ts), never a concrete backend.',
      severity: 'error',
      from: { path: '^src/pipeline/' },
      to: { path: '^src/(providers/|store/(sqlite|postgres)/)' },
    },
    {
      name: 'pipeline-does-not-import-service',
      comment: 'The service runs the pipeline; the pipeline never knows it is run by one.',
      severity: 'error',
      from: { path: '^src/pipeline/' },
      to: { path: '^src/service/' },
    },
    {
      name: 'service-does-not-import-cli',
      comment: 'service/ is the long-running part below the thin commands (DESIGN.md Round 2).',
      severity: 'error',
      from: { path: '^src/service/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'service-reaches-backends-only-through-protocols',
      comment:
        'Concrete providers and store backends are built in cli and injected; service/ sees the Store protocol and the registries.',
      severity: 'error',
      from: { path: '^src/service/' },
      to: { path: '^src/(providers/|store/(sqlite|postgres)/)' },
    },
    {
      name: 'sibling-backends-stay-apart',
      severity: 'error',
      from: { path: '^src/store/(sqlite|postgres)/' },
      to: { path: '^src/store/(sqlite|postgres)/', pathNot: '^src/store/$1/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
  },
};
