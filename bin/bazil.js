#!/usr/bin/env node
// The published entry point: the compiled CLI lives in dist/ (built by `npm install`).
import '../dist/src/cli/main.js';
