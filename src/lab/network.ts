// The lab's private network: one bridge holding the gateway address, and per host a network
// namespace with a veth pair whose guest end (eth0) carries the host's address. Everything
// has a fixed MAC derived from its address; there is no default route out of the subnet.
import { access, readdir, writeFile } from 'node:fs/promises';
import { isHostIn, macFor, parseCidr, subnetOf } from './addr.ts';
import { ip, netnsSysctl } from './commands.ts';
import type { LabConfig } from './config.ts';
import { LabError } from './errors.ts';
import { run, runOk } from './exec.ts';
import type { HostLayout } from './layout.ts';
import { isMounted } from './mounts.ts';
import { sleep } from './processes.ts';

interface IpLink {
  ifname: string;
  linkinfo?: { info_kind?: string };
}
interface IpAddr {
  ifname: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

async function json<T>(argv: ReturnType<typeof ip.showLinks>): Promise<T[]> {
  const out = (await runOk(argv, argv.argv.join(' '))).stdout.trim();
  return out ? (JSON.parse(out) as T[]) : [];
}

export async function linkExists(name: string): Promise<boolean> {
  return (await json<IpLink>(ip.showLinks())).some((l) => l.ifname === name);
}

export async function netnsExists(name: string): Promise<boolean> {
  return (await json<{ name: string }>(ip.listNetns())).some((n) => n.name === name);
}

/** Pure: interfaces other than the bridge that hold an address of the lab subnet. */
export function subnetConflicts(addrs: readonly IpAddr[], bridge: string, gateway: string): string[] {
  const cidr = parseCidr(gateway);
  return addrs
    .filter((a) => a.ifname !== bridge)
    .flatMap((a) =>
      (a.addr_info ?? [])
        .filter((i) => i.family === 'inet' && (isHostIn(i.local, cidr) || i.local === cidr.address))
        .map((i) => `${a.ifname} (${i.local}/${i.prefixlen})`),
    );
}

async function disableIpv6(dev: string): Promise<void> {
  // Keeps the lab to its IPv4 subnet: no IPv6 link-local chatter on the bridge.
  await writeFile(`/proc/sys/net/ipv6/conf/${dev}/disable_ipv6`, '1').catch(() => undefined);
}

/** Creates the bridge with the gateway address, or checks the existing one. Returns true if made. */
export async function ensureBridge(config: LabConfig): Promise<boolean> {
  const cidr = parseCidr(config.gateway);
  const conflicts = subnetConflicts(await json<IpAddr>(ip.showAddresses()), config.bridge, config.gateway);
  if (conflicts.length) {
    throw new LabError(`the lab subnet ${subnetOf(cidr)} is already used by ${conflicts.join(', ')}`, {
      hint: 'set another lab.gateway (and host addresses) in the inventory, or remove that address',
    });
  }
  const links = await json<IpLink>(ip.showLinks());
  const existing = links.find((l) => l.ifname === config.bridge);
  if (existing && existing.linkinfo?.info_kind !== undefined && existing.linkinfo.info_kind !== 'bridge') {
    throw new LabError(`${config.bridge} exists and is not a bridge`, { hint: 'set another lab.bridge in the inventory' });
  }
  const made = !existing;
  if (made) await runOk(ip.addBridge(config.bridge, macFor(cidr.address)), `creating the bridge ${config.bridge}`);
  await disableIpv6(config.bridge);
  await runOk(ip.addAddress(config.bridge, cidr), `addressing the bridge ${config.bridge}`);
  await runOk(ip.up(config.bridge), `bringing ${config.bridge} up`);
  return made;
}

export async function removeBridge(config: LabConfig): Promise<boolean> {
  if (!(await linkExists(config.bridge))) return false;
  await runOk(ip.deleteLink(config.bridge), `removing the bridge ${config.bridge}`);
  return true;
}

/** A fresh netns and veth pair for the host (any stale ones from a crash are replaced). */
export async function createHostNetwork(config: LabConfig, host: HostLayout): Promise<void> {
  const cidr = parseCidr(config.gateway);
  await removeHostNetwork(host);
  await runOk(ip.addNetns(host.netns), `creating the network namespace ${host.netns}`);
  await runOk(ip.addVeth(host.veth, macFor(host.address, 0x06), host.netns, macFor(host.address)),
    `creating the veth pair for ${host.name}`);
  await disableIpv6(host.veth);
  await runOk(ip.attach(host.veth, config.bridge), `attaching ${host.veth} to ${config.bridge}`);
  await runOk(netnsSysctl(host.netns, { 'net.ipv6.conf.eth0.disable_ipv6': '1' }), `disabling IPv6 on ${host.name}'s eth0`);
  await runOk(ip.addAddress('eth0', { address: host.address, prefix: cidr.prefix }, host.netns), `addressing ${host.name}`);
  await runOk(ip.up('eth0', host.netns), `bringing ${host.name}'s eth0 up`);
  await runOk(ip.up('lo', host.netns), `bringing ${host.name}'s loopback up`);
}

export async function hostNetworkReady(host: HostLayout): Promise<boolean> {
  return (await netnsExists(host.netns)) && (await linkExists(host.veth));
}

/** Removes the host's netns (which takes its veth pair with it). Returns true if anything went. */
export async function removeHostNetwork(host: HostLayout): Promise<boolean> {
  let removed = false;
  if (await netnsExists(host.netns)) {
    await runOk(ip.deleteNetns(host.netns), `removing the network namespace ${host.netns}`);
    removed = true;
    // The veth pair goes with the namespace once the last process in it has exited, which a host
    // stopped a moment ago may not have yet: wait for that a little before deleting it by hand.
    for (const deadline = Date.now() + 5000; Date.now() < deadline && (await linkExists(host.veth)); ) await sleep(100);
  }
  if (await linkExists(host.veth)) {
    const result = await run(ip.deleteLink(host.veth));
    // Gone by itself meanwhile is as good as deleted.
    if (result.code !== 0 && (await linkExists(host.veth))) await runOk(ip.deleteLink(host.veth), `removing ${host.veth}`);
    removed = true;
  }
  return removed;
}

/** Forgets cached neighbour entries for a host's address (on the bridge and in other hosts). */
export async function flushNeighbours(config: LabConfig, host: HostLayout, others: readonly HostLayout[]): Promise<void> {
  await run(ip.flushNeighbour(host.address, config.bridge));
  for (const other of others) await run(ip.flushNeighbour(host.address, undefined, other.netns));
}

/**
 * `ip netns add` bind-mounts /run/netns onto itself the first time; once no namespace is left,
 * undo that so no lab mount remains.
 */
export async function releaseNetnsDir(): Promise<void> {
  const dir = '/run/netns';
  if (!(await access(dir).then(() => true, () => false))) return;
  if ((await readdir(dir)).length === 0 && (await isMounted(dir))) await run({ argv: ['umount', dir] });
}
