// Builds of MiniTwit to compare side by side: this checkout, and an earlier commit of this
// repository compiled in a temporary folder with this checkout's node_modules.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { packageRoot } from '../src/config/paths.js';

export interface Build {
  label: string;
  /** The folder holding bin/minitwit.js and dist/. */
  root: string;
}

export const thisCheckout = (): Build => ({ label: 'after (this checkout)', root: packageRoot });

/** `commit` of this repository, compiled in a temporary folder (git archive, then tsc). */
export function buildCommit(commit: string, log: (line: string) => void): Build {
  const root = mkdtempSync(join(tmpdir(), 'minitwit-before-'));
  log(`building ${commit} in ${root}`);
  const archive = execFileSync('git', ['-C', packageRoot, 'archive', '--format=tar', commit], {
    maxBuffer: 1 << 30,
  });
  execFileSync('tar', ['-x', '-C', root], { input: archive });
  symlinkSync(resolve(packageRoot, 'node_modules'), join(root, 'node_modules'), 'dir');
  execFileSync(process.execPath, [resolve(packageRoot, 'node_modules/.bin/tsc'), '-p', root], {
    stdio: 'inherit',
  });
  return { label: `before (${commit.slice(0, 7)})`, root };
}

/** Removes a temporary build (never this checkout). */
export function dropBuild(build: Build) {
  if (build.root !== packageRoot) rmSync(build.root, { recursive: true, force: true });
}
