// IPv4 arithmetic for the lab's private subnet, and the fixed MACs derived from addresses.
import { LabError } from './errors.ts';

export interface Cidr {
  address: string;
  prefix: number;
}

export function parseIpv4(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new LabError(`"${text}" is not an IPv4 address`, { hint: 'write it as four numbers, e.g. 10.77.0.11' });
  }
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

export function parseCidr(text: string): Cidr {
  const match = /^([^/]+)\/(\d{1,2})$/.exec(text);
  const prefix = match ? Number(match[2]) : NaN;
  if (!match || prefix < 8 || prefix > 30) {
    throw new LabError(`"${text}" is not an address with a prefix length between /8 and /30`, {
      hint: 'write the bridge address like 10.77.0.1/24',
    });
  }
  parseIpv4(match[1]!);
  return { address: match[1]!, prefix };
}

function networkOf(value: number, prefix: number): number {
  const size = 2 ** (32 - prefix);
  return Math.floor(value / size) * size;
}

/** The network in CIDR form, e.g. 10.77.0.0/24 for 10.77.0.1/24. */
export function subnetOf(cidr: Cidr): string {
  return `${formatIpv4(networkOf(parseIpv4(cidr.address), cidr.prefix))}/${cidr.prefix}`;
}

/** True when `address` is a usable host address (not network, not broadcast) of the subnet. */
export function isHostIn(address: string, cidr: Cidr): boolean {
  const value = parseIpv4(address);
  const network = networkOf(parseIpv4(cidr.address), cidr.prefix);
  const size = 2 ** (32 - cidr.prefix);
  return value > network && value < network + size - 1;
}

/**
 * A locally administered unicast MAC carrying the IPv4 address in its last four bytes.
 * Fixed MACs keep neighbour caches valid across resets (random ones left hosts unreachable
 * for 40-50 s). `first` must have bit 1 set and bit 0 clear (0x02, 0x06, ...).
 */
export function macFor(address: string, first = 0x02): string {
  const value = parseIpv4(address);
  const bytes = [first, 0x00, ...[24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256)];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export function lastOctet(address: string): number {
  return parseIpv4(address) % 256;
}
