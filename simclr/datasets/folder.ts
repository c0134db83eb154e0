/**
 * An image folder as a dataset: `root/<class>/**\/*.jpg` is labelled (class index = position of the
 * folder name in sorted order, like torchvision's ImageFolder); `root/*.jpg` with no class folders is
 * unlabelled (label -1). Order is sorted by code point, never by locale or by the file system, so
 * every machine lists the same files in the same order. Hidden files and folders (".name") are left
 * out silently; other files that cannot be images (a README, notes.txt), broken symbolic links and
 * links that loop back to a folder above them are left out and listed in `ignored` with the reason.
 * Symbolic links to folders and files are followed (datasets are often linked in), exactly as the
 * source's fingerprint walk (activities/dataset-source.ts) follows them.
 *
 * @example
 *   const listing = await listImageFolder('/data/flowers');
 *   listing.classNames; // ['daisy', 'rose', ...] or [] when unlabelled
 *   listing.entries[0]; // { path: '/data/flowers/daisy/001.jpg', label: 0 }
 */
import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { extname, join, relative } from 'node:path';
import { DatasetError } from '../../contracts/errors';

/** Extensions sharp decodes with its prebuilt libvips (case-insensitive). */
export const IMAGE_EXTENSIONS: readonly string[] = [
  '.jpg',
  '.jpeg',
  '.jpe',
  '.jfif',
  '.png',
  '.webp',
  '.gif',
  '.tif',
  '.tiff',
  '.avif',
  '.heic',
  '.heif',
];

/** The label of an image in an unlabelled folder. */
export const UNLABELLED = -1;

export interface FolderEntry {
  path: string;
  label: number;
}

/** A file of the folder that is not used, and why. */
export interface IgnoredFile {
  file: string;
  reason: string;
}

export interface FolderListing {
  root: string;
  /** Sorted class folder names; empty for an unlabelled (flat) folder. */
  classNames: string[];
  entries: FolderEntry[];
  /** Visible files that are not listed as images (wrong extension, broken or looping links), sorted. */
  ignored: IgnoredFile[];
}

export interface ListOptions {
  /** Called after each directory read, with the directories read and image files found so far. */
  onDirectory?: (directories: number, files: number) => void;
}

export function isImageFile(name: string): boolean {
  return IMAGE_EXTENSIONS.includes(extname(name).toLowerCase());
}

const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export type EntryKind = 'file' | 'dir' | 'broken-link' | 'other';

/**
 * What a directory entry is, following symbolic links (datasets are often linked in). The one rule for
 * links, shared by the listing here and the fingerprint walk of the source.
 */
export async function entryKind(dir: string, d: Dirent): Promise<EntryKind> {
  if (d.isSymbolicLink()) {
    try {
      const s = await stat(join(dir, d.name));
      return s.isDirectory() ? 'dir' : s.isFile() ? 'file' : 'other';
    } catch {
      return 'broken-link';
    }
  }
  return d.isDirectory() ? 'dir' : d.isFile() ? 'file' : 'other';
}

/** The visible entries of `dir`, sorted by code point, with their kinds. */
async function entries(dir: string): Promise<{ name: string; kind: EntryKind }[]> {
  const dirents = (await readdir(dir, { withFileTypes: true })).filter((d) => !d.name.startsWith('.'));
  dirents.sort((a, b) => byCodePoint(a.name, b.name));
  return Promise.all(dirents.map(async (d) => ({ name: d.name, kind: await entryKind(dir, d) })));
}

/** Why a visible entry of a folder is not an image, or undefined when it is one (or a folder). */
function notAnImage(name: string, kind: EntryKind): string | undefined {
  if (kind === 'broken-link') return 'broken symbolic link';
  if (kind === 'other') return 'not a regular file';
  if (kind === 'file' && !isImageFile(name))
    return `not an image file name (extensions: ${IMAGE_EXTENSIONS.join(' ')})`;
  return undefined;
}

/** Walks one folder tree, following links, never into a folder it is already inside (link loops). */
class Lister {
  directories = 0;
  files = 0;
  readonly ignored: IgnoredFile[] = [];
  constructor(private readonly options: ListOptions) {}

  async images(dir: string, ancestors: ReadonlySet<string>): Promise<string[]> {
    const out: string[] = [];
    const real = await realpath(dir);
    if (ancestors.has(real)) {
      this.ignored.push({ file: dir, reason: 'symbolic link to a folder that contains it (a loop)' });
      return out;
    }
    const inside = new Set(ancestors).add(real);
    const listed = await entries(dir);
    this.directories++;
    this.options.onDirectory?.(this.directories, this.files);
    for (const d of listed) {
      const p = join(dir, d.name);
      const why = notAnImage(d.name, d.kind);
      if (why) this.ignored.push({ file: p, reason: why });
      // A loop, not push(...): a folder can hold more images than a call has room for arguments.
      else if (d.kind === 'dir') for (const f of await this.images(p, inside)) out.push(f);
      else {
        out.push(p);
        this.files++;
      }
    }
    return out;
  }
}

/**
 * Lists `root`. Class folders that contain no image are ignored; image files directly in `root` next
 * to class folders are an error (the labelling would be ambiguous), as is a folder with no image.
 */
export async function listImageFolder(root: string, options: ListOptions = {}): Promise<FolderListing> {
  let top;
  let rootReal: string;
  try {
    top = await entries(root);
    rootReal = await realpath(root);
  } catch (err) {
    throw new DatasetError(`image folder ${root} cannot be read: ${(err as Error).message}`, { cause: err });
  }
  const lister = new Lister(options);
  const topFiles: string[] = [];
  for (const d of top) {
    const why = notAnImage(d.name, d.kind);
    if (why) lister.ignored.push({ file: join(root, d.name), reason: why });
    else if (d.kind === 'file') topFiles.push(join(root, d.name));
  }
  const classes: { name: string; files: string[] }[] = [];
  for (const d of top.filter((x) => x.kind === 'dir')) {
    const files = await lister.images(join(root, d.name), new Set([rootReal]));
    if (files.length > 0) classes.push({ name: d.name, files });
  }
  const ignored = lister.ignored.sort((a, b) => byCodePoint(a.file, b.file));
  if (classes.length > 0 && topFiles.length > 0) {
    throw new DatasetError(
      `image folder ${root} mixes class folders (${classes
        .map((c) => c.name)
        .slice(0, 3)
        .join(
          ', ',
        )}…) with images at its top level (${relative(root, topFiles[0])}…); put every image in a class folder, or use a flat folder`,
    );
  }
  if (classes.length > 0) {
    return {
      root,
      classNames: classes.map((c) => c.name),
      entries: classes.flatMap((c, label) => c.files.map((path) => ({ path, label }))),
      ignored,
    };
  }
  if (topFiles.length === 0) {
    throw new DatasetError(
      `image folder ${root} contains no images (extensions: ${IMAGE_EXTENSIONS.join(' ')})`,
    );
  }
  return { root, classNames: [], entries: topFiles.map((path) => ({ path, label: UNLABELLED })), ignored };
}
