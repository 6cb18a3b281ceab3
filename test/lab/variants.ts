// The lab inventory the lab tests run on (TANDEM_LAB_INVENTORY, default inventory/lab.yml), and
// variants of it that a test needs: another release, a third server, active-passive. A variant
// is the same lab (servers, bridge, keys, known_hosts, secrets) with a few settings changed, so the
// tests run unchanged on any lab: the shared one on tandem0 or a private one on another bridge.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { parseYaml, toInventory } from '../../src/inventory/load.ts';
import { LAB_RELEASES, type Inventory, type LabRelease } from '../../src/inventory/types.ts';

export const ROOT = path.resolve(import.meta.dirname, '../..');

/** The lab inventory under test. */
export const LAB_INVENTORY = path.resolve(process.env.TANDEM_LAB_INVENTORY ?? path.join(ROOT, 'inventory/lab.yml'));

/** An inventory file loaded without touching the network or the key (sync, for the tests' setup). */
export function readInventory(file: string = LAB_INVENTORY): Inventory {
  return toInventory(parseYaml(readFileSync(file, 'utf8'), file), path.resolve(file), file);
}

/** The CLI's arguments with `-i FILE` added after the verb (after `lab VERB` for the lab) unless they name one. */
export function withInventory(args: readonly string[], file: string = LAB_INVENTORY): string[] {
  if (args.includes('-i') || args.includes('--inventory') || args.length === 0) return [...args];
  const at = args[0] === 'lab' ? 2 : 1;
  return [...args.slice(0, at), '-i', file, ...args.slice(at)];
}

export type InventoryDoc = Record<string, any>;

const variantsDir = path.join(os.tmpdir(), `tandem-lab-variants-${process.pid}`);

/**
 * Writes `edit`ed copy of the lab inventory (as YAML data) to a file of its own and returns its
 * path. Every path in it is made absolute, and known_hosts and secrets are the lab inventory's.
 */
export function labVariant(name: string, edit: (doc: InventoryDoc) => void, base: string = LAB_INVENTORY): string {
  const inv = readInventory(base);
  const doc = parse(readFileSync(base, 'utf8')) as InventoryDoc;
  doc.ssh = { ...doc.ssh, key: inv.ssh.key, known_hosts: inv.ssh.knownHosts };
  doc.secrets = inv.secretsFile;
  doc.app = { ...doc.app, source: inv.app.source };
  if (inv.lab) doc.lab = { ...doc.lab, cache: inv.lab.cacheDir, state: inv.lab.stateDir };
  if (inv.tls) {
    const s = inv.tls.source;
    doc.tls = { ...doc.tls, ...(inv.tls.caFile && { ca: inv.tls.caFile }) };
    if (s.kind === 'acme' && s.caBundle) doc.tls.acme = { ...doc.tls.acme, ca_bundle: s.caBundle };
    if (s.kind === 'files') doc.tls.files = { cert: s.cert, key: s.key };
  }
  edit(doc);
  mkdirSync(variantsDir, { recursive: true });
  const file = path.join(variantsDir, `${name}.yml`);
  writeFileSync(file, stringify(doc));
  return file;
}

/** The address `offset` after the lab's first server (web-01 + 2 is web-03's). */
export function addressAfterFirst(offset: number, inv: Inventory = readInventory()): string {
  const octets = inv.hosts[0]!.address.split('.').map(Number);
  octets[3]! += offset;
  return octets.join('.');
}

/**
 * The core scenarios, run again on every release other than the lab inventory's own: fresh
 * apply, a second apply with 0 changes, verify, deploys under load with 0 failed requests.
 */
export const CORE_FILES = ['test/lab/stack.test.ts', 'test/lab/deploy.test.ts'];

/** Pure: what npm test runs on which release: every file on the inventory's own, the core ones on the others. */
export function releaseRuns(files: readonly string[], own: LabRelease): { release: LabRelease; files: string[] }[] {
  return [
    { release: own, files: [...files] },
    ...LAB_RELEASES.filter((r) => r !== own).map((release) => ({ release, files: CORE_FILES.filter((f) => files.includes(f)) })),
  ];
}
