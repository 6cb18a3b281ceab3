// `tandem lab reset [HOST...]`: hosts back to pristine in seconds — stop hard, throw the
// overlay's upper layer away, boot a fresh one (new host key, re-pinned in known_hosts).
import { releaseOf, type LabConfig, type LabHost } from './config.ts';
import { LabError } from './errors.ts';
import { step, type Progress } from './events.ts';
import { findHostProcesses, stopHost } from './host.ts';
import { hostLayout } from './layout.ts';
import { withLock } from './lock.ts';
import { preflight } from './preflight.ts';
import { ensureLabKey } from './ssh-key.ts';
import { ensureBaseImages } from './image.ts';
import { readState } from './state.ts';
import { bootHosts } from './boot.ts';

export interface ResetOptions {
  /** Host names; default every host that is up. */
  hosts?: readonly string[];
  progress: Progress;
  bootTimeoutMs?: number;
}

export async function labReset(config: LabConfig, opts: ResetOptions): Promise<string[]> {
  const { progress } = opts;
  await preflight();
  return withLock(config, progress, async () => {
    const state = await readState(config);
    const up = Object.keys(state.hosts);
    if (up.length === 0) {
      throw new LabError('the lab is not up', { hint: 'run `tandem lab up` first' });
    }
    const names = opts.hosts?.length ? [...new Set(opts.hosts)] : up;
    const unknown = names.filter((n) => !state.hosts[n]);
    if (unknown.length) {
      throw new LabError(`not a running lab host: ${unknown.join(', ')}`, { hint: `the lab's hosts are ${up.join(', ')}` });
    }
    const allHosts: LabHost[] = Object.entries(state.hosts).map(([name, h]) => ({ name, address: h.address }));
    const layouts = names.map((name) => hostLayout(config, { name, address: state.hosts[name]!.address }));
    const authorizedKey = await ensureLabKey(config.keyPath, progress);
    // Pristine as the inventory says now: each host boots the release it gives that host.
    const bases = await ensureBaseImages(config, names.map((n) => releaseOf(config, n)), progress);
    await step(progress, `resetting ${names.map((n) => `${n} (${releaseOf(config, n)})`).join(', ')}`, async () => {
      await Promise.all(
        layouts.map(async (layout) => {
          const recorded = state.hosts[layout.name]!;
          const running = await findHostProcesses(layout);
          await stopHost(layout, recorded.cgroups, [...running.pids, ...(recorded.supervisorPid ? [recorded.supervisorPid] : [])]);
        }),
      );
      await bootHosts(config, state, {
        hosts: layouts, allHosts, authorizedKey, bootTimeoutMs: opts.bootTimeoutMs ?? 60_000,
        // A fresh network namespace too: the kernel keeps nftables tables, addresses (a VIP) and
        // conntrack per namespace, so a kept one would carry the last stack's firewall into a "pristine" host.
        freshNetwork: true,
        cgroupsFor: (h) => state.hosts[h.name]!.cgroups,
        baseFor: (h) => bases.get(releaseOf(config, h.name))!,
      });
    });
    return names;
  });
}
