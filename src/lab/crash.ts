// A lab server's crash and its boot after it, for the fault tests: `crash` stops every process of
// the host at once (no shutdown, as a power cut does) but keeps its disk (the overlay's upper
// layer); `boot` mounts that same disk again and starts the host, with its identity (address,
// host key) unchanged, in a fresh network namespace: as after a real boot, no kernel network
// state, the firewall's ruleset above all, survives the crash.
import { parseCidr } from './addr.ts';
import { mountOverlay } from './commands.ts';
import type { LabConfig } from './config.ts';
import { LabError } from './errors.ts';
import { step, type Progress } from './events.ts';
import { findHostProcesses, startHost, stopHost } from './host.ts';
import { hostLayout } from './layout.ts';
import { createHostNetwork, flushNeighbours } from './network.ts';
import { withLock } from './lock.ts';
import { runOk } from './exec.ts';
import { waitForSsh } from './probe.ts';
import { readState, writeState, type LabState } from './state.ts';

function recorded(state: LabState, name: string) {
  const h = state.hosts[name];
  if (!h) throw new LabError(`not a lab host: ${name}`, { hint: `the lab's hosts are ${Object.keys(state.hosts).join(', ')}` });
  return h;
}

/** Kill every process of the host at once; its disk stays for `labBoot`. */
export async function labCrash(config: LabConfig, name: string, progress: Progress): Promise<void> {
  await withLock(config, progress, async () => {
    const state = await readState(config);
    const h = recorded(state, name);
    const layout = hostLayout(config, { name, address: h.address });
    await step(progress, `crashing ${name} (its disk is kept)`, async () => {
      const running = await findHostProcesses(layout);
      await stopHost(layout, h.cgroups, [...running.pids, ...(h.supervisorPid ? [h.supervisorPid] : [])]);
      delete h.supervisorPid;
      await writeState(config, state);
    });
  });
}

/** Boot a crashed host again from the disk it had, and wait for its sshd. */
export async function labBoot(config: LabConfig, name: string, progress: Progress, bootTimeoutMs = 60_000): Promise<void> {
  await withLock(config, progress, async () => {
    const state = await readState(config);
    const h = recorded(state, name);
    if (!h.baseDir) throw new LabError(`${name}: the lab state does not record its base image`, { hint: 'reset the host instead: `tandem lab reset`' });
    const layout = hostLayout(config, { name, address: h.address });
    if ((await findHostProcesses(layout)).supervisorPid) throw new LabError(`${name} is running`, { hint: 'crash it first' });
    await step(progress, `booting ${name} from its kept disk`, async () => {
      await createHostNetwork(config, layout);
      const others = Object.entries(state.hosts).filter(([other]) => other !== name).map(([other, o]) => hostLayout(config, { name: other, address: o.address }));
      await flushNeighbours(config, layout, others);
      await runOk(mountOverlay(h.baseDir!, layout.upper, layout.work, layout.root), `mounting ${name}'s overlay`);
      h.supervisorPid = await startHost(layout, h.cgroups);
      await writeState(config, state);
      await waitForSsh(parseCidr(config.gateway), h.address, bootTimeoutMs, layout.consoleLog);
    });
  });
}
