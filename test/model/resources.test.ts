import { describe, expect, it } from 'vitest';
import { globToRegExp, resourcesOverlap } from '../../src/runner/resources.js';

describe('resource overlap (plan conflicts)', () => {
  it.each([
    ['deploy', 'deploy', true],
    ['deploy', 'db', false],
    ['src/api', 'src/api/x.ts', true],
    ['src/api/**', 'src/api/v1/x.ts', true],
    ['src/api/**', 'src/web/x.ts', false],
    ['src/*.ts', 'src/a.ts', true],
    ['src/*.ts', 'src/a/b.ts', false],
    ['src/**', 'src/api/**', true],
    ['src/api/**', 'src/web/**', false],
    ['src/api/**', 'src', true],
  ])('%s ~ %s: %s', (a, b, want) => {
    expect(resourcesOverlap(a, b)).toBe(want);
    expect(resourcesOverlap(b, a)).toBe(want);
  });
  it('translates globs', () => {
    expect(globToRegExp('a/**/b.ts').test('a/b.ts')).toBe(true);
    expect(globToRegExp('a/**/b.ts').test('a/x/y/b.ts')).toBe(true);
    expect(globToRegExp('a/?.ts').test('a/xy.ts')).toBe(false);
  });
});
