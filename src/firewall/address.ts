// Sources of firewall rules: an IPv4 or IPv6 address, or a network (address/prefix), as the
// inventory writes them. Checked here, once, so the ruleset writer only ever sees valid ones.
import { isIPv4, isIPv6 } from 'node:net';

export interface Source {
  family: 4 | 6;
  /** As nftables reads it: the address, or the network with its prefix. */
  text: string;
}

/** Every address: `any` in a rule's `from`. */
export const ANY = 'any';

function v4Bits(address: string): bigint {
  return address.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

function v6Bits(address: string): bigint {
  let text = address;
  // An IPv4 tail (::ffff:10.0.0.1) is two groups.
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tail) {
    const b = v4Bits(tail[1]!);
    text = `${text.slice(0, tail.index)}${(b >> 16n).toString(16)}:${(b & 0xffffn).toString(16)}`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const left = groups(head);
  const right = rest === undefined ? [] : groups(rest);
  const all = rest === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return all.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** Why `value` is not an address or network a rule can name, or undefined when it is one. */
export function sourceProblem(value: string): string | undefined {
  return parseSource(value).problem;
}

export function parseSource(value: string): { source?: Source; problem?: string } {
  const shown = JSON.stringify(value);
  const [address, prefix, ...extra] = value.split('/');
  const family = isIPv4(address!) ? 4 : isIPv6(address!) ? 6 : undefined;
  if (family === undefined || extra.length > 0) {
    return { problem: `not an IPv4 or IPv6 address or network: ${shown} (expected such as 10.0.0.5, 192.168.1.0/24, 2001:db8::/32)` };
  }
  // A zone (fe80::1%eth0) means nothing to a rule.
  if (address!.includes('%')) return { problem: `${shown}: an address with a zone (%) cannot be a rule's source` };
  if (prefix === undefined) return { source: { family, text: address! } };
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max) return { problem: `${shown}: the prefix must be a number from 0 to ${max}` };
  const bits = family === 4 ? v4Bits(address!) : v6Bits(address!);
  const hostBits = BigInt(max - Number(prefix));
  if ((bits & ((1n << hostBits) - 1n)) !== 0n) {
    const network = (bits >> hostBits) << hostBits;
    return { problem: `${shown}: the address has bits set after the /${prefix} prefix (the network is ${formatBits(network, family)}/${prefix})` };
  }
  return { source: { family, text: `${address}/${prefix}` } };
}

function formatBits(bits: bigint, family: 4 | 6): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((bits >> s) & 0xffn)).join('.');
  const groups = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((s) => ((bits >> s) & 0xffffn).toString(16));
  // The longest run of zero groups becomes `::`.
  const joined = `:${groups.join(':')}:`;
  const runs = joined.match(/(:0)+:/g) ?? [];
  const longest = runs.reduce((a, b) => (b.length > a.length ? b : a), '');
  return (longest.length > 3 ? joined.replace(longest, '::') : joined).replace(/^:(?!:)/, '').replace(/(?<!:):$/, '');
}

/** The sources of a list (validated at load): `any` stands for every address of both families. */
export function sourcesOf(values: readonly string[]): Source[] | 'any' {
  if (values.includes(ANY)) return 'any';
  return values.map((v) => {
    const { source, problem } = parseSource(v);
    if (!source) throw new Error(`unchecked firewall source: ${problem}`);
    return source;
  });
}

/** A bare address of either family (no prefix). */
export function isAddress(value: string): boolean {
  return isIPv4(value) || isIPv6(value);
}

/** Whether `address` (a bare address) is `source` or inside its network. */
export function covers(source: Source, address: string): boolean {
  const family = isIPv4(address) ? 4 : isIPv6(address) ? 6 : undefined;
  if (family !== source.family) return false;
  const [net, prefix] = source.text.split('/') as [string, string | undefined];
  const bits = (a: string) => (family === 4 ? v4Bits(a) : v6Bits(a));
  const hostBits = BigInt((family === 4 ? 32 : 128) - Number(prefix ?? (family === 4 ? 32 : 128)));
  return bits(net) >> hostBits === bits(address) >> hostBits;
}
