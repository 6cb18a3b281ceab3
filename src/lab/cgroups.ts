// One cgroup per lab host, made under the current cgroup of every hierarchy (so the lab stays
// inside whatever limits this process runs under). On a machine whose PID 1 is not systemd,
// nspawn (--keep-unit) uses the cgroup it is started in: each host needs its own, or the
// containers share units and systemctl fails inside them.
import { access, readdir, readFile, rmdir, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { LabError } from './errors.ts';
import { killPid, sleep } from './processes.ts';

interface CgroupMount {
  point: string;
  root: string;
  fstype: string;
  superOptions: string[];
}

function parseMounts(mountinfo: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const fields = left.split(' ');
    const [fstype, , superOpts = ''] = right.split(' ');
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    mounts.push({ point: fields[4]!, root: fields[3]!, fstype, superOptions: superOpts.split(',') });
  }
  return mounts;
}

/**
 * Pure: the folder of the current cgroup in every mounted hierarchy, from /proc/self/cgroup
 * and /proc/self/mountinfo.
 */
export function currentCgroupDirs(procCgroup: string, mountinfo: string): string[] {
  const mounts = parseMounts(mountinfo);
  const dirs: string[] = [];
  for (const line of procCgroup.split('\n')) {
    const match = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!match) continue;
    const [, id, controllers, cgPath] = match as unknown as [string, string, string, string];
    const mount =
      id === '0' && controllers === ''
        ? mounts.find((m) => m.fstype === 'cgroup2')
        : mounts.find((m) => m.fstype === 'cgroup' && controllers.split(',').every((c) => m.superOptions.includes(c)));
    if (!mount) continue;
    const rel = mount.root === '/' ? cgPath : path.relative(mount.root, cgPath);
    if (rel.startsWith('..')) continue;
    dirs.push(path.join(mount.point, rel).replace(/(.)\/$/, '$1'));
  }
  return [...new Set(dirs)];
}

export async function labCgroupParents(parentName: string): Promise<string[]> {
  const [procCgroup, mountinfo] = await Promise.all([
    readFile('/proc/self/cgroup', 'utf8'),
    readFile('/proc/self/mountinfo', 'utf8'),
  ]);
  const dirs = currentCgroupDirs(procCgroup, mountinfo).map((d) => path.join(d, parentName));
  if (dirs.length === 0) {
    throw new LabError('found no cgroup hierarchy to put the lab hosts in', {
      hint: 'mount cgroups under /sys/fs/cgroup (cgroup2, or the v1 hierarchies with name=systemd)',
    });
  }
  return dirs;
}

/**
 * Makes the folders top-down. A new cgroup-v1 cpuset starts with no CPUs and memory nodes
 * (joining it fails with EIO/ENOSPC): copy them from the parent, as clone_children would.
 */
export async function createCgroups(dirs: readonly string[]): Promise<void> {
  for (const dir of dirs) {
    try {
      const made = await mkdir(dir, { recursive: true });
      if (made === undefined) continue;
      const created: string[] = [];
      for (let d = dir; d.length >= made.length; d = path.dirname(d)) created.unshift(d);
      for (const d of created) await inheritCpuset(d);
    } catch (cause) {
      throw new LabError(`cannot create the cgroup ${dir}`, {
        hint: 'the lab needs write access to /sys/fs/cgroup (run as root, not inside a restricted container)',
        cause,
      });
    }
  }
}

async function inheritCpuset(dir: string): Promise<void> {
  for (const file of ['cpuset.cpus', 'cpuset.mems']) {
    const own = await readFile(path.join(dir, file), 'utf8').catch(() => undefined);
    if (own === undefined || own.trim() !== '') continue;
    const parent = await readFile(path.join(path.dirname(dir), file), 'utf8');
    await writeFile(path.join(dir, file), parent.trim());
  }
}

/** Every folder of the tree at `dir`, deepest first. */
async function treeDeepestFirst(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => undefined);
  if (!entries) return [];
  const below: string[] = [];
  for (const e of entries) if (e.isDirectory()) below.push(...(await treeDeepestFirst(path.join(dir, e.name))));
  return [...below, dir];
}

export async function cgroupPids(dirs: readonly string[]): Promise<number[]> {
  const pids = new Set<number>();
  for (const dir of dirs) {
    for (const d of await treeDeepestFirst(dir)) {
      const text = await readFile(path.join(d, 'cgroup.procs'), 'utf8').catch(() => '');
      for (const line of text.split('\n')) if (/^\d+$/.test(line)) pids.add(Number(line));
    }
  }
  return [...pids];
}

/**
 * SIGKILLs every process in the cgroups (cgroup.kill where cgroup2 has it) and waits for none.
 * A killed process dies only once it leaves uninterruptible I/O: on a machine busy with other
 * labs' disk work (a database flushing on overlayfs) that took over 10 s, hence the 30 s.
 */
export async function killCgroups(dirs: readonly string[], timeoutMs = 30_000): Promise<void> {
  for (const dir of dirs) {
    const killFile = path.join(dir, 'cgroup.kill');
    if (await access(killFile).then(() => true, () => false)) await writeFile(killFile, '1').catch(() => undefined);
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pids = await cgroupPids(dirs);
    if (pids.length === 0) return;
    if (Date.now() > deadline) {
      throw new LabError(`processes ${pids.join(', ')} in the lab cgroups would not die`, {
        hint: 'look at them with `ps -o pid,stat,args -p PID`; a process in state D waits on I/O',
      });
    }
    for (const pid of pids) killPid(pid);
    await sleep(50);
  }
}

/** Removes the cgroup folders (and any sub-cgroups the guest's systemd made), deepest first. */
export async function removeCgroups(dirs: readonly string[]): Promise<void> {
  for (const dir of dirs) {
    for (const d of await treeDeepestFirst(dir)) {
      await rmdir(d).catch((cause: NodeJS.ErrnoException) => {
        if (cause.code !== 'ENOENT') {
          throw new LabError(`cannot remove the cgroup ${d}: ${cause.message}`, { cause });
        }
      });
    }
  }
}

/** Removes the lab's parent cgroup folders when nothing is left in them. */
export async function removeEmptyParents(parents: readonly string[]): Promise<void> {
  for (const dir of parents) await rmdir(dir).catch(() => undefined);
}
