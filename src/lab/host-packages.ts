// The Debian packages the lab needs on this machine, installed with apt only when missing.
import { apt } from './commands.ts';
import { LabError } from './errors.ts';
import { step, type Progress } from './events.ts';
import { run, runOk, type Runner } from './exec.ts';

/** Package -> why the lab needs it (shown in progress). */
export const HOST_PACKAGES: Readonly<Record<string, string>> = {
  debootstrap: 'builds the Debian 12 base image',
  'systemd-container': 'systemd-nspawn runs the servers',
  'apt-cacher-ng': 'apt proxy the servers install packages through',
  zstd: 'compresses the cached base image',
  iproute2: 'bridge, veth and network namespaces',
  'openssh-client': 'ssh and ssh-keygen',
  mount: 'overlayfs mounts',
  tar: 'packs and unpacks the base image',
  procps: 'sysctl for the servers\' network settings',
  pebble: 'the lab\'s ACME CA (Pebble and its DNS, pebble-challtestsrv)',
  openssl: 'the certificate of Pebble\'s own HTTPS',
};

/** Pure: which packages `dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n'` shows as not installed. */
export function missingPackages(wanted: readonly string[], dpkgOutput: string): string[] {
  const installed = new Set(
    dpkgOutput
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter(([, status]) => status === 'ii')
      .map(([name]) => name!.replace(/:.*$/, '')),
  );
  return wanted.filter((p) => !installed.has(p));
}

export async function ensureHostPackages(progress: Progress, runner: Runner = run): Promise<string[]> {
  const wanted = Object.keys(HOST_PACKAGES);
  const query = await runner(apt.query(wanted));
  const missing = missingPackages(wanted, query.stdout);
  if (missing.length === 0) return [];
  const why = missing.map((p) => `${p} (${HOST_PACKAGES[p]})`).join(', ');
  await step(progress, `installing host packages with apt: ${why}`, async () => {
    const first = await runner(apt.install(missing));
    if (first.code === 0) return;
    // Stale or missing package lists are the usual reason: refresh them once and retry.
    await runOk(apt.update(), 'apt-get update', 'check that this machine reaches deb.debian.org', runner);
    await runOk(apt.install(missing), `apt-get install ${missing.join(' ')}`,
      'install them by hand with apt-get and run `tandem lab up` again', runner);
  });
  const after = missingPackages(wanted, (await runner(apt.query(wanted))).stdout);
  if (after.length) {
    throw new LabError(`host packages still missing after apt-get install: ${after.join(', ')}`, {
      hint: `install them by hand: apt-get install ${after.join(' ')}`,
    });
  }
  return missing;
}
