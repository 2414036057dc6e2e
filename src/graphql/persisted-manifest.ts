// The persisted-operations manifest (`persisted-operations.json` at the repo root): every GraphQL
// document Hookgate's own clients send, keyed by the SHA-256 hex of its exact text. Built by
// `npm run operations`; a test fails while the committed file differs from a fresh build.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const MANIFEST_FILE = path.join(REPO_ROOT, 'persisted-operations.json');

/** Where the clients' documents live, relative to the repo root: folders of `.graphql` files or single files. */
export const DOCUMENT_SOURCES = ['src/console/operations', 'src/graphql/graphiql-examples.graphql'] as const;

/** Document id → document text. */
export type Manifest = Record<string, string>;

export function documentId(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The `.graphql` files of every source, sorted, as repo-relative paths. */
export function documentFiles(root = REPO_ROOT): string[] {
  return DOCUMENT_SOURCES.flatMap((source) => {
    if (source.endsWith('.graphql')) return [source];
    return readdirSync(path.join(root, source))
      .filter((name) => name.endsWith('.graphql'))
      .sort()
      .map((name) => `${source}/${name}`);
  });
}

export function buildManifest(root = REPO_ROOT): Manifest {
  const manifest: Manifest = {};
  for (const file of documentFiles(root)) {
    const text = readFileSync(path.join(root, file), 'utf8');
    manifest[documentId(text)] = text;
  }
  return manifest;
}

export function serializeManifest(manifest: Manifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** The committed manifest; an absent file is an empty one (then only raw documents run). */
export function readManifest(file = MANIFEST_FILE): Manifest {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  return JSON.parse(text) as Manifest;
}
