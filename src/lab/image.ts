// The cached Debian base of each release: built once with debootstrap, kept as a zstd tarball in
// the cache folder (outside the checkout, so fresh clones reuse it), unpacked once per state
// folder as the read-only lower layer of every host of that release.
import { access, mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { LabRelease } from '../inventory/types.ts';
import { baseRecipe, imageId, releaseInfo } from './base-recipe.ts';
import { applyEdits } from './edits.ts';
import { debootstrap, packTarball, unpackTarball } from './commands.ts';
import { step, type Progress } from './events.ts';
import { runOk } from './exec.ts';
import { paths } from './layout.ts';
import { unmountAll } from './mounts.ts';
import type { LabConfig } from './config.ts';

export interface BaseImage {
  release: LabRelease;
  id: string;
  tarball: string;
  /** The unpacked tree, lowerdir of every host overlay. */
  dir: string;
}

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

async function buildTarball(config: LabConfig, release: LabRelease, id: string, tarball: string, progress: Progress): Promise<void> {
  const recipe = baseRecipe(release);
  const buildDir = path.join(paths.imagesDir(config), `build-${id}-${process.pid}`);
  const rootfs = path.join(buildDir, 'rootfs');
  try {
    await mkdir(rootfs, { recursive: true, mode: 0o755 });
    await step(progress, `building the ${releaseInfo(release).name} base image with debootstrap (about a minute; cached afterwards in ${config.cacheDir})`, async () => {
      await runOk(debootstrap(rootfs, recipe.suite, recipe.packages), 'debootstrap',
        'check that this machine reaches http://deb.debian.org and run `tandem lab up` again');
      await applyEdits(rootfs, recipe.edits);
    });
    await step(progress, `packing the base image into ${tarball}`, async () => {
      const tmp = `${tarball}.tmp-${process.pid}`;
      await runOk(packTarball(rootfs, tmp), 'packing the base image');
      await rename(tmp, tarball);
    });
  } finally {
    await unmountAll(buildDir);
    await rm(buildDir, { recursive: true, force: true });
    await rm(`${tarball}.tmp-${process.pid}`, { force: true });
  }
}

async function unpack(tarball: string, dir: string, progress: Progress): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}`;
  await step(progress, `unpacking the cached base image ${path.basename(tarball)}`, async () => {
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true, mode: 0o755 });
    try {
      await runOk(unpackTarball(tarball, tmp), 'unpacking the base image',
        `the cached image may be damaged: delete ${tarball} and run \`tandem lab up\` again to rebuild it`);
      await rename(tmp, dir);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
}

/** Builds a release's tarball if the cache lacks it and unpacks it if this state folder lacks it. */
export async function ensureBaseImage(config: LabConfig, release: LabRelease, progress: Progress): Promise<BaseImage> {
  const id = imageId(release);
  const tarball = paths.imageTarball(config, release, id);
  const dir = paths.baseDir(config, id);
  const image = { release, id, tarball, dir };
  if (await exists(dir)) return image;
  await mkdir(paths.imagesDir(config), { recursive: true, mode: 0o755 });
  if (!(await exists(tarball))) await buildTarball(config, release, id, tarball, progress);
  else progress({ type: 'info', message: `reusing the cached base image ${tarball}` });
  await mkdir(path.dirname(dir), { recursive: true, mode: 0o700 });
  await unpack(tarball, dir, progress);
  return image;
}

/** The base images of the given releases, each built or unpacked once. */
export async function ensureBaseImages(config: LabConfig, releases: Iterable<LabRelease>, progress: Progress): Promise<Map<LabRelease, BaseImage>> {
  const images = new Map<LabRelease, BaseImage>();
  for (const release of new Set(releases)) images.set(release, await ensureBaseImage(config, release, progress));
  return images;
}

