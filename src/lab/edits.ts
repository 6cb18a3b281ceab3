// Applying FileEdit data (base-recipe.ts, guest-files.ts) to a guest root from outside.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { FileEdit } from './base-recipe.ts';
import { removeInto, symlinkInto, writeInto } from './safe-files.ts';

export async function applyEdits(root: string, edits: readonly FileEdit[]): Promise<void> {
  for (const edit of edits) {
    switch (edit.kind) {
      case 'write':
        await writeInto(root, edit.path, edit.content, {
          ...(edit.mode === undefined ? {} : { mode: edit.mode }),
          ...(edit.dirMode === undefined ? {} : { dirMode: edit.dirMode }),
        });
        break;
      case 'remove':
        await removeInto(root, edit.path);
        break;
      case 'symlink':
        await symlinkInto(root, edit.path, edit.target);
        break;
      case 'prune': {
        const dir = path.join(root, edit.dir);
        const entries = await readdir(dir).catch(() => [] as string[]);
        for (const entry of entries) {
          if (!edit.keep.includes(entry)) await removeInto(root, path.join(edit.dir, entry));
        }
        break;
      }
      default: {
        const never: never = edit;
        throw new Error(`unknown edit ${JSON.stringify(never)}`);
      }
    }
  }
}
