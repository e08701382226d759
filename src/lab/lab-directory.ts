import { readdirSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.js';
import type { Lab } from './lab.js';
import { LAB_EXTENSIONS, loadLabFile } from './load-lab.js';

/**
 * The package's `labs/` folder, found from this module's own place (dist/lab
 * or src/lab, two levels below the package root), so `lblab lab` finds the
 * labs from any working directory and from an installed package.
 */
export const LABS_DIR = fileURLToPath(new URL('../../labs/', import.meta.url));

/** The package root, to show built-in lab files as `labs/NAME.yaml`. */
const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Whether `arg` names a lab file rather than a lab of `labs/`: it has a lab file extension or a path separator. */
export function isLabPath(arg: string): boolean {
  return arg.includes('/') || (LAB_EXTENSIONS as readonly string[]).includes(extname(arg).toLowerCase());
}

/** Paths of the lab files in `dir` (default the package's `labs/`), sorted by file name. */
export function labFiles(dir = LABS_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => (LAB_EXTENSIONS as readonly string[]).includes(extname(f).toLowerCase()))
    .sort()
    .map((f) => join(dir, f));
}

/**
 * Loads every lab of `dir`, in course order (`order`, then name).
 * @throws {UsageError} naming the first file that does not check.
 */
export async function loadAllLabs(dir = LABS_DIR): Promise<Lab[]> {
  const labs = await Promise.all(labFiles(dir).map((f) => loadLabFile(f, shown(f))));
  return labs.sort((a, b) => a.order - b.order || a.name.localeCompare(b.name));
}

/**
 * Finds a lab by name in the package's `labs/`, or loads the file `arg`
 * names (`my-lab.yaml`, `./labs/x.yaml`).
 * @throws {UsageError} for an unknown name (listing the lab names) or a bad file.
 */
export async function findLab(arg: string, dir = LABS_DIR): Promise<Lab> {
  if (isLabPath(arg)) return loadLabFile(arg);
  const files = labFiles(dir);
  const file = files.find((f) => labName(f) === arg);
  if (!file) {
    throw new UsageError(`Expected \`<lab>\` to be a lab name, one of ${files.map(labName).join(', ')}, or a lab file (.yaml, .yml, .json), got ${JSON.stringify(arg)}`);
  }
  return loadLabFile(file, shown(file));
}

function labName(file: string): string {
  const base = file.slice(file.lastIndexOf('/') + 1);
  return base.slice(0, base.length - extname(base).length);
}

/** A built-in lab's path as messages show it: `labs/round-robin.yaml`. */
function shown(file: string): string {
  return relative(PACKAGE_ROOT, file);
}
