// A recipe turns the inventory into work for one host: ops grouped by phase. Pure: no I/O
// beyond rendering templates, no connection.
import type { HostSpec, Inventory } from '../src/inventory/types.ts';
import type { Secrets } from '../src/secrets/store.ts';
import type { HostWork } from '../src/engine/types.ts';
import type { Release } from '../src/release/prepare.ts';
import type { CertificateSupply } from '../src/tls/supply.ts';
import type { PrivateCa } from '../src/tls/private-ca.ts';

export interface RecipeContext {
  inventory: Inventory;
  host: HostSpec;
  secrets: Secrets;
  /** The app release built on the control machine (recipes that need it are skipped without). */
  release?: Release;
  /** With a `tls:` section: the load balancers' certificate (recipes/haproxy.ts). */
  certificate?: CertificateSupply;
  /** TLS between the servers (MariaDB): tandem's private CA, and the time certificates are judged at. */
  serverTls?: { ca: PrivateCa; now: Date };
}

export interface Recipe {
  name: string;
  /** The work for this host, or nothing when the recipe does not concern it. */
  build(ctx: RecipeContext): HostWork[];
  /**
   * The Debian packages this host needs for the recipe's work. They are not installed by the
   * recipe: every selected recipe's packages go into one apt transaction per host, before the
   * recipes' own work (recipes/packages.ts).
   */
  packages?(ctx: RecipeContext): string[];
}
