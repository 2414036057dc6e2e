// Used by the Prisma CLI (`prisma generate`, and `prisma migrate deploy` where the schema-engine
// binary exists). Hookgate itself applies migrations with the WASM engine: see src/db/migrate.ts.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost/hookgate' },
});
