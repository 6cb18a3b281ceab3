// Writes the Ansible inventory of bench/ansible/site.yml for a tandem inventory, to run the
// playbook by hand:  npx tsx bench/ansible-inventory-file.ts inventory/lab.yml > /tmp/ansible-lab.yml
// (bench/run.ts writes the same file for its own runs.)
import { stringify } from 'yaml';
import { loadInventory } from '../src/inventory/load.ts';
import { loadSecrets } from '../src/secrets/store.ts';
import { prepareRelease } from '../src/release/prepare.ts';
import { primaryOf } from '../src/stack/roles.ts';
import { buildWork, RECIPES } from '../recipes/index.ts';
import type { Inventory } from '../src/inventory/types.ts';
import { ansibleInventory } from './ansible-inventory.ts';
import { packagesByHost } from './packages.ts';

/** The generated inventory's text and each host's packages (the recipes' list). */
export async function ansibleInventoryFor(inv: Inventory): Promise<{ text: string; packages: Map<string, string[]> }> {
  const secrets = await loadSecrets(inv.secretsFile, { create: true });
  const release = await prepareRelease(inv.app.source, { entry: inv.app.entry });
  const packages = packagesByHost(buildWork(inv, inv.hosts, secrets, RECIPES, release));
  // tandem connects replicas to their primary with TLS from MariaDB 11.4 on: Debian 13's 11.8.
  const primaryRelease = inv.lab?.hostReleases[primaryOf(inv).name] ?? inv.lab?.release ?? 'trixie';
  const doc = ansibleInventory(inv, { packages, release, replicationTls: primaryRelease === 'trixie' });
  return { text: stringify(doc), packages };
}

if (process.argv[1] === import.meta.filename) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: npx tsx bench/ansible-inventory-file.ts INVENTORY.yml');
  process.stdout.write((await ansibleInventoryFor(await loadInventory(file))).text);
}
