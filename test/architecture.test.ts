// The layering the folders promise, checked on the import statements themselves: transports
// (GraphQL, REST) reach the engine only through domain services, the engine knows no transport,
// and the domain knows neither.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(__dirname, '../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'generated' ? [] : sourceFiles(full);
    return /\.tsx?$/.test(entry.name) ? [full] : [];
  });
}

/** The top-level folder of `src/` each relative import of `file` lands in. */
function importedLayers(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'/gm)].map(([, specifier]) => specifier!);
  return specifiers.map((specifier) => path.relative(SRC, path.resolve(path.dirname(file), specifier)).split(path.sep)[0]!);
}

const FORBIDDEN: Record<string, string[]> = {
  domain: ['delivery', 'rest', 'graphql', 'http', 'console'],
  delivery: ['rest', 'graphql', 'console'],
  rest: ['delivery', 'graphql'],
  graphql: ['delivery', 'rest'],
};

describe('layering', () => {
  const files = sourceFiles(SRC);

  it('finds the source files and their imports', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(importedLayers(path.join(SRC, 'app.ts'))).toEqual(expect.arrayContaining(['domain', 'delivery', 'graphql', 'rest']));
  });

  for (const [layer, forbidden] of Object.entries(FORBIDDEN)) {
    it(`src/${layer} imports nothing from ${forbidden.map((name) => `src/${name}`).join(', ')}`, () => {
      const offending = files
        .filter((file) => path.relative(SRC, file).split(path.sep)[0] === layer)
        .flatMap((file) =>
          importedLayers(file)
            .filter((target) => forbidden.includes(target))
            .map((target) => `${path.relative(SRC, file)} -> src/${target}`),
        );
      expect(offending).toEqual([]);
    });
  }
});
