// What the lab has made, kept in <state>/lab.json so `down` and `reset` can undo it by PID and
// path even if the inventory changed since.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { LabRelease } from '../inventory/types.ts';
import type { LabConfig } from './config.ts';
import { LabError } from './errors.ts';
import { paths } from './layout.ts';

export interface HostState {
  address: string;
  supervisorPid?: number;
  /** The host's cgroup folders, one per hierarchy. */
  cgroups: string[];
  /** The release it was booted with and the unpacked base its overlay sits on. */
  release?: LabRelease;
  baseDir?: string;
}

export interface LabState {
  version: 1;
  bridge: string;
  gateway: string;
  /** Written by labs from before releases (every host on bookworm): the base of all hosts. */
  baseDir?: string;
  proxyPid?: number;
  /** The lab's ACME CA (src/lab/pebble.ts). */
  pebblePids?: { pebble?: number; challtestsrv?: number };
  /** Parent cgroup folders (<current cgroup>/tandem-lab) per hierarchy. */
  cgroupParents: string[];
  hosts: Record<string, HostState>;
}

export function emptyState(config: LabConfig): LabState {
  return { version: 1, bridge: config.bridge, gateway: config.gateway, cgroupParents: [], hosts: {} };
}

/** The release and base a recorded host was booted with (older state files name one base for all). */
export function recordedBase(state: LabState, name: string): { release: LabRelease; baseDir?: string } {
  const h = state.hosts[name];
  if (h?.release) return { release: h.release, ...(h.baseDir ? { baseDir: h.baseDir } : {}) };
  return { release: 'bookworm', ...(state.baseDir ? { baseDir: state.baseDir } : {}) };
}

export async function readState(config: LabConfig): Promise<LabState> {
  const file = paths.stateFile(config);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return emptyState(config);
  }
  try {
    const state = JSON.parse(text) as LabState;
    if (state.version !== 1) throw new Error(`unknown version ${String(state.version)}`);
    return state;
  } catch (cause) {
    throw new LabError(`the lab state file ${file} is damaged`, {
      hint: 'stop what is left by hand (see docs/lab.md), delete the file and run `tandem lab up`',
      cause,
    });
  }
}

export async function writeState(config: LabConfig, state: LabState): Promise<void> {
  const file = paths.stateFile(config);
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, file);
}

export async function removeState(config: LabConfig): Promise<void> {
  await rm(paths.stateFile(config), { force: true });
}
