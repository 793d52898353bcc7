#!/usr/bin/env node
/** The `hessian-probe` executable: runs {@link main} on the process's arguments. */
import { invocationFolder, main } from './cli/main.js';

const folder = invocationFolder(process.env);
if (folder !== undefined) process.chdir(folder);

const code = await main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  isTTY: process.stderr.isTTY === true,
});
process.exitCode = code;
