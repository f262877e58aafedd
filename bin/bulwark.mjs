#!/usr/bin/env -S node --max-semi-space-size=4
// --max-semi-space-size=4 (MB): young-generation collections stop the event loop that stamps
// injection and receipt times; a smaller young generation makes each of those pauses short (a
// 16 MB one measured 8–14 ms with 200 runs in flight, 4 MB kept the runner's p99 drift under
// 10 ms in 19 of 20 quiet phases: docs/benchmarks.md#concurrent-runs).
// Runs the TypeScript CLI through tsx's loader, so the package works without a build step.
//
// The packages made of many ES modules (kysely about 260, zod about 100) are imported first,
// before the loader is registered: every module loaded after it takes a round trip to the
// loader's thread, which made up about a fifth of each command's start. The TypeScript sources
// import the same URLs later and get these instances from the module cache.
await Promise.all([import('kysely'), import('zod'), import('@marcbachmann/cel-js')]);
const { register } = await import('tsx/esm/api');
register();
await import('../src/cli/main.ts');
