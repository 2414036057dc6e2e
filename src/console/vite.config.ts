// Builds the console into dist/console (served by src/http/console.ts at /console). No dev server
// is needed: `npm run console:build` takes a few seconds.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  logLevel: 'warn',
  publicDir: false,
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: fileURLToPath(new URL('../../dist/console', import.meta.url)),
    emptyOutDir: true,
    // Inline nothing as data: URLs, so the page's CSP can stay 'self'.
    assetsInlineLimit: 0,
    target: 'es2022',
    reportCompressedSize: false,
  },
});
