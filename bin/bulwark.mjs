#!/usr/bin/env -S node --max-semi-space-size=4
// --max-semi-space-size=4 (MB): young-generation collections stop the event loop that stamps
// injection and receipt times; a smaller young generation makes each of those pauses short (a
// 16 MB one measured 8–14 ms with 200 runs in flight, 4 MB kept the runner's p99 drift under
// 10 ms in 19 of 20 quiet phases: docs/benchmarks.md#concurrent-runs).
// Runs the TypeScript CLI through tsx's loader, so the package works without a build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
