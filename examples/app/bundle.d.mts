/** Types for bundle.mjs (used by the TypeScript tests and tandem). */
export declare const APP_SOURCE: string;
export interface BuildReleaseOptions {
  /** App source folder; defaults to examples/app (this folder). */
  source?: string;
  /** Release folder to create; must not exist or be empty. */
  outDir: string;
  /** Written to VERSION; defaults to package.json's version. [0-9A-Za-z._+-], max 64 chars. */
  version?: string;
  /** npm command to run; defaults to "npm". */
  npm?: string;
}
export interface BuildReleaseResult {
  /** Absolute path of the release folder. */
  dir: string;
  version: string;
  /** Every file in the release, relative to dir, '/'-separated, sorted. */
  files: string[];
}
export declare function buildRelease(opts: BuildReleaseOptions): Promise<BuildReleaseResult>;
