// Builds the Hookgate Console (src/console) into dist/console with Vite; run by `npm install`.
import { build } from 'vite';

await build({ configFile: new URL('../src/console/vite.config.ts', import.meta.url).pathname });
