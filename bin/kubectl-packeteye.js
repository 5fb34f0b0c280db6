#!/usr/bin/env node
// kubectl's plugin: on PATH as kubectl-packeteye, `kubectl packeteye …` runs packeteye.
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2), undefined, { asKubectlPlugin: true });
