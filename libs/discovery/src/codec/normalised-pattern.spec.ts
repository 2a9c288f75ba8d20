import 'reflect-metadata';
import { transformPatternToRoute } from '@nestjs/microservices/utils/transform-pattern.utils.js';
import { normalisedPattern } from './normalised-pattern.js';

const deep = { a: { b: { c: { d: { e: { f: { g: 1 } } } } } } };
const wide = Object.fromEntries(Array.from({ length: 21 }, (_, index) => [`k${index}`, index]));

// The copy routes every pattern as the installed @nestjs/microservices does: a Nest release that changes
// how it routes fails here, not in production.
describe('normalisedPattern, as Nest routes a pattern', () => {
  it.each([
    ['a string', 'log.append'],
    ['a number', 42],
    ['an object, keys sorted', { v: 1, cmd: 'sum' }],
    ['nested objects', { cmd: 'sum', meta: { z: 1, a: 'x' } }],
    ['quotes and backslashes', { 'a"b': 'c\\"d' }],
    ['an array', { cmd: ['a', 'b'] }],
    ['booleans, null and undefined', { yes: true, no: null, none: undefined }],
    ['keys that sort by locale', { b: 1, B: 2, a: 3, _: 4, '10': 5, '9': 6 }],
    ['too deep', deep],
    ['too many keys', wide],
  ])('%s', (_case, pattern) => {
    expect(normalisedPattern(pattern)).toBe(String(transformPatternToRoute(pattern as never)));
  });
});
