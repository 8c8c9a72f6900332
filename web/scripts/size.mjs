// Prints the compressed size of the JavaScript each page loads first and fails
// the build when the lottery page's passes its budget (300 KB gzip).
import { readFileSync, readdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';

const dist = new URL('../dist/', import.meta.url).pathname;
const budget = 300 * 1024;
const html = readFileSync(join(dist, 'index.html'), 'utf8');
const scripts = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]);
let raw = 0;
let gz = 0;
for (const s of scripts) {
  const b = readFileSync(join(dist, s));
  raw += b.length;
  gz += gzipSync(b, { level: 9 }).length;
}
const all = readdirSync(join(dist, 'assets')).filter((f) => f.endsWith('.js')).length;
console.log(`lottery page (/): ${scripts.length} of ${all} JS files, ${(raw / 1024).toFixed(1)} KB, ${(gz / 1024).toFixed(1)} KB gzip (budget ${budget / 1024} KB)`);
if (gz > budget) {
  console.error('the lottery page\'s JavaScript is over its budget');
  process.exit(1);
}
