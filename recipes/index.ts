// The stack: every recipe, in the order their ops run inside a phase.
import type { HostSpec, Inventory } from '../src/inventory/types.ts';
import type { Secrets } from '../src/secrets/store.ts';
import type { HostWork } from '../src/engine/types.ts';
import { UsageError } from '../src/errors.ts';
import { base } from './base.ts';
import { firewall } from './firewall.ts';
import { database_ } from './database.ts';
import { app } from './app.ts';
import { nginx } from './nginx.ts';
import { haproxy } from './haproxy.ts';
import { keepalived } from './keepalived.ts';
import { exporters } from './exporters.ts';
import { monitor } from './monitor.ts';
import { vipMetric } from './vip-metric.ts';
import { platform } from './platform.ts';
import { packagesWork } from './packages.ts';
import type { Release } from '../src/release/prepare.ts';
import type { Recipe } from './recipe.ts';
import type { CertificateSupply } from '../src/tls/supply.ts';
import type { RecipeContext } from './recipe.ts';

export const RECIPES: Recipe[] = [base, firewall, database_, app, nginx, haproxy, keepalived, exporters, vipMetric, monitor];

export function selectRecipes(names: string | undefined): Recipe[] {
  if (!names) return RECIPES;
  const wanted = names.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = wanted.filter((n) => !RECIPES.some((r) => r.name === n));
  if (unknown.length) {
    throw new UsageError(`--recipe: unknown recipe ${unknown.join(', ')} (expected one of ${RECIPES.map((r) => r.name).join(', ')})`);
  }
  return RECIPES.filter((r) => wanted.includes(r.name));
}

/**
 * Every host is checked first, whichever recipes run (see recipes/platform.ts); then the selected
 * recipes' packages are installed in one transaction (recipes/packages.ts), then their work.
 */
export function buildWork(
  inventory: Inventory,
  hosts: HostSpec[],
  secrets: Secrets,
  recipes: Recipe[],
  release?: Release,
  certificate?: CertificateSupply,
  serverTls?: RecipeContext['serverTls'],
): Map<string, HostWork[]> {
  return new Map(
    hosts.map((host) => {
      const ctx = { inventory, host, secrets, release, certificate, serverTls };
      return [host.name, [...platform.build(ctx), ...packagesWork(recipes, ctx), ...recipes.flatMap((r) => r.build(ctx))]];
    }),
  );
}
