/**
 * An image folder as a dataset: `root/<class>/**\/*.jpg` is labelled (class index = position of the
 * folder name in sorted order, like torchvision's ImageFolder); `root/*.jpg` with no class folders is
 * unlabelled (label -1). Order is sorted by code point, never by locale or by the file system, so
 * every machine lists the same files in the same order. Hidden files and folders (".name") and files
 * with other extensions are skipped.
 *
 * @example
 *   const listing = await listImageFolder('/data/flowers');
 *   listing.classNames; // ['daisy', 'rose', ...] or [] when unlabelled
 *   listing.entries[0]; // { path: '/data/flowers/daisy/001.jpg', label: 0 }
 */
import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
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

export interface FolderListing {
  root: string;
  /** Sorted class folder names; empty for an unlabelled (flat) folder. */
  classNames: string[];
  entries: FolderEntry[];
}

export function isImageFile(name: string): boolean {
  return IMAGE_EXTENSIONS.includes(extname(name).toLowerCase());
}

const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** What a directory entry is, following symbolic links (datasets are often linked in); broken links are skipped. */
async function kind(dir: string, d: Dirent): Promise<'file' | 'dir' | 'other'> {
  if (d.isSymbolicLink()) {
    try {
      const s = await stat(join(dir, d.name));
      return s.isDirectory() ? 'dir' : s.isFile() ? 'file' : 'other';
    } catch {
      return 'other';
    }
  }
  return d.isDirectory() ? 'dir' : d.isFile() ? 'file' : 'other';
}

/** The visible entries of `dir`, sorted by code point, with their kinds. */
async function entries(dir: string): Promise<{ name: string; kind: 'file' | 'dir' | 'other' }[]> {
  const dirents = (await readdir(dir, { withFileTypes: true })).filter((d) => !d.name.startsWith('.'));
  dirents.sort((a, b) => byCodePoint(a.name, b.name));
  return Promise.all(dirents.map(async (d) => ({ name: d.name, kind: await kind(dir, d) })));
}

async function listImagesRecursive(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const d of await entries(dir)) {
    const p = join(dir, d.name);
    // A loop, not push(...): a folder can hold more images than a call has room for arguments.
    if (d.kind === 'dir') for (const f of await listImagesRecursive(p)) out.push(f);
    else if (d.kind === 'file' && isImageFile(d.name)) out.push(p);
  }
  return out;
}

/**
 * Lists `root`. Class folders that contain no image are ignored; image files directly in `root` next
 * to class folders are an error (the labelling would be ambiguous), as is a folder with no image.
 */
export async function listImageFolder(root: string): Promise<FolderListing> {
  let top;
  try {
    top = await entries(root);
  } catch (err) {
    throw new DatasetError(`image folder ${root} cannot be read: ${(err as Error).message}`, { cause: err });
  }
  const topFiles = top.filter((d) => d.kind === 'file' && isImageFile(d.name)).map((d) => join(root, d.name));
  const classes: { name: string; files: string[] }[] = [];
  for (const d of top.filter((x) => x.kind === 'dir')) {
    const files = await listImagesRecursive(join(root, d.name));
    if (files.length > 0) classes.push({ name: d.name, files });
  }
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
    };
  }
  if (topFiles.length === 0) {
    throw new DatasetError(
      `image folder ${root} contains no images (extensions: ${IMAGE_EXTENSIONS.join(' ')})`,
    );
  }
  return { root, classNames: [], entries: topFiles.map((path) => ({ path, label: UNLABELLED })) };
}
