// The host's packages, every selected recipe's at once: one apt transaction per host (one
// `apt-get update` when the index is old or lacks a package, one `apt-get install`) at the start
// of the host's work, instead of one per recipe. Services stay stopped during it: each recipe's
// `service` op starts its service once the config is written (src/ops/packages.ts).
import { absent, file } from '../src/ops/file.ts';
import { packages } from '../src/ops/packages.ts';
import { aptString, fieldValue } from '../src/formats/index.ts';
import type { HostWork } from '../src/engine/types.ts';
import type { Recipe, RecipeContext } from './recipe.ts';

export const APT_PROXY_FILE = '/etc/apt/apt.conf.d/01tandem-proxy';

/** Every package the recipes need on this host, each once, sorted (so the op's id is stable). */
export function hostPackages(recipes: readonly Recipe[], ctx: RecipeContext): string[] {
  return [...new Set(recipes.flatMap((r) => r.packages?.(ctx) ?? []))].sort();
}

/** apt's proxy (or its absence) first, then the one install; nothing when no recipe needs a package here. */
export function packagesWork(recipes: readonly Recipe[], ctx: RecipeContext): HostWork[] {
  const wanted = hostPackages(recipes, ctx);
  if (wanted.length === 0) return [];
  const { inventory } = ctx;
  return [
    {
      phase: 'base',
      ops: [
        inventory.apt.proxy
          ? file({ path: APT_PROXY_FILE, content: `Acquire::http::Proxy ${fieldValue(`${inventory.file}: apt.proxy`, aptString, inventory.apt.proxy)};\n`, mode: '0644' })
          : absent(APT_PROXY_FILE),
        packages({ packages: wanted, cacheValidSeconds: inventory.apt.cacheValidSeconds, lockTimeoutSeconds: inventory.apt.lockWaitSeconds, holdServices: true }),
      ],
    },
  ];
}
