// Checks that this machine can run the lab at all, before anything is changed.
import { access, readFile } from 'node:fs/promises';
import { LabError } from './errors.ts';
import { run } from './exec.ts';

export interface MachineFacts {
  platform: string;
  uid: number;
  /** Contents of /proc/filesystems. */
  filesystems: string;
  hasNetns: boolean;
  hasCgroupFs: boolean;
}

/** Pure: the first reason this machine cannot run the lab, as an error, or nothing. */
export function preflightError(f: MachineFacts): LabError | undefined {
  if (f.platform !== 'linux') {
    return new LabError(`the lab needs Linux (this is ${f.platform})`, {
      hint: 'run the lab on a Linux machine, or point tandem at real servers with -i inventory/example.yml',
    });
  }
  if (f.uid !== 0) {
    return new LabError('the lab needs root: it makes a bridge, network namespaces, mounts and containers', {
      hint: 'run it again with sudo (for example `sudo npx tsx src/cli/main.ts lab up`)',
    });
  }
  if (!/\boverlay\b/.test(f.filesystems)) {
    return new LabError('the kernel has no overlayfs (no "overlay" in /proc/filesystems)', {
      hint: 'load it with `modprobe overlay`, or use a kernel built with CONFIG_OVERLAY_FS',
    });
  }
  if (!f.hasNetns) {
    return new LabError('the kernel has no network namespaces (/proc/self/ns/net is missing)', {
      hint: 'use a kernel built with CONFIG_NET_NS (any mainstream distribution kernel has it)',
    });
  }
  if (!f.hasCgroupFs) {
    return new LabError('no cgroup file system is mounted at /sys/fs/cgroup', {
      hint: 'mount cgroup2 there (`mount -t cgroup2 none /sys/fs/cgroup`) or boot a distribution that does',
    });
  }
  return undefined;
}

async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}

export async function gatherMachineFacts(): Promise<MachineFacts> {
  const linux = process.platform === 'linux';
  return {
    platform: process.platform,
    uid: process.getuid?.() ?? -1,
    filesystems: linux ? await readFile('/proc/filesystems', 'utf8').catch(() => '') : '',
    hasNetns: linux && (await exists('/proc/self/ns/net')),
    hasCgroupFs:
      linux &&
      ((await exists('/sys/fs/cgroup/cgroup.procs')) ||
        (await exists('/sys/fs/cgroup/systemd/cgroup.procs')) ||
        (await exists('/sys/fs/cgroup/unified/cgroup.procs'))),
  };
}

/** Throws the first reason the lab cannot run here; tries `modprobe overlay` once if needed. */
export async function preflight(): Promise<void> {
  let facts = await gatherMachineFacts();
  if (facts.platform === 'linux' && facts.uid === 0 && !/\boverlay\b/.test(facts.filesystems)) {
    await run({ argv: ['modprobe', 'overlay'] }).catch(() => undefined);
    facts = await gatherMachineFacts();
  }
  const error = preflightError(facts);
  if (error) throw error;
}
