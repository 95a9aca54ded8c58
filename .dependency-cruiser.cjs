/**
 * The layer rule of DESIGN.md: imports point down only
 * (cli → web | service → pipeline → providers | store → core).
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'core-imports-nothing-of-ours',
      comment: 'src/core is the bottom layer: it imports no other layer.',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: '^src/(providers|store|pipeline|service|web|cli)/' },
    },
    {
      name: 'providers-import-only-core',
      severity: 'error',
      from: { path: '^src/providers/' },
      to: { path: '^src/(store|pipeline|service|web|cli)/' },
    },
    {
      name: 'store-imports-only-core',
      severity: 'error',
      from: { path: '^src/store/' },
      to: { path: '^src/(providers|pipeline|service|web|cli)/' },
    },
    {
      name: 'pipeline-does-not-import-cli-service-or-web',
      comment:
        'The pipeline runs one job; what runs many (service) and shows them (web) sit above it.',
      severity: 'error',
      from: { path: '^src/pipeline/' },
      to: { path: '^src/(cli|service|web)/' },
    },
    {
      name: 'service-does-not-import-cli-or-web',
      comment:
        'The service is driven by cli (mdp serve) and shown by web; it prints, parses argv and exits through neither.',
      severity: 'error',
      from: { path: '^src/service/' },
      to: { path: '^src/(cli|web)/' },
    },
    {
      name: 'service-gets-backends-injected',
      comment:
        'Concrete providers and store backends are picked by the composition root (src/cli/runtime.ts) and injected; the service sees the core registry and the Store protocol.',
      severity: 'error',
      from: { path: '^src/service/' },
      to: { path: '^src/(providers/|store/(sqlite|postgres)/)' },
    },
    {
      name: 'web-does-not-import-cli',
      severity: 'error',
      from: { path: '^src/web/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'web-reads-through-read-models-and-acts-through-service',
      comment:
        'The dashboard reads through store read models and acts only through service/: never a store backend, a concrete provider, or the runner (it never writes bars itself).',
      severity: 'error',
      from: { path: '^src/web/' },
      to: { path: '^src/(providers/|store/(sqlite|postgres)/|pipeline/runner/)' },
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
