#!/usr/bin/env node
// The SIGHUP latch first, on its own: loading the rest takes long enough that a reload sent
// right after the start would otherwise kill `mdp serve` (see src/cli/hangup-latch.ts).
import '../dist/cli/hangup-latch.js';
await import('../dist/cli/main.js');
