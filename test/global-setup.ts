// Runs once before any test file: builds the migrated PGlite template the test databases start from.
import { ensurePgliteTemplate } from './pglite-template';

export default async function setup(): Promise<void> {
  await ensurePgliteTemplate();
}
