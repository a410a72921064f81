// Summarises a V8 CPU profile (node --cpu-prof): where the samples' self time went, by package
// (or MiniTwit source file) and by function. `node dist/bench/profile-summary.js FILE [TOP]`.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The package (node_modules/<name>) or the source file a frame belongs to. */
export function placeOf(url: string): string {
  if (url === '') return '(native / V8)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1] as string;
  if (url.startsWith('node:')) return url;
  const own = /\/(dist\/)?((?:src|bench)\/.*)$/.exec(url);
  return own ? (own[2] as string) : url;
}

/** Self time in ms per place and per function, largest first, with the total. */
export function summarize(profile: Profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  const places = new Map<string, number>();
  const functions = new Map<string, number>();
  let total = 0;
  for (const [id, ms] of self) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') continue;
    total += ms;
    const place = placeOf(url);
    places.set(place, (places.get(place) ?? 0) + ms);
    const fn = `${functionName || '(anonymous)'} ${place}:${lineNumber + 1}`;
    functions.set(fn, (functions.get(fn) ?? 0) + ms);
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return { total, places: sorted(places), functions: sorted(functions) };
}

if (process.argv[1]?.endsWith('profile-summary.js') && process.argv[2]) {
  const top = Number(process.argv[3] ?? 25);
  const s = summarize(JSON.parse(readFileSync(process.argv[2], 'utf8')) as Profile);
  const pct = (ms: number) => `${((ms / s.total) * 100).toFixed(1)} %`;
  process.stdout.write(`busy ${s.total.toFixed(0)} ms (idle excluded)\n\nby place:\n`);
  for (const [p, ms] of s.places.slice(0, top))
    process.stdout.write(`  ${pct(ms).padStart(7)}  ${p}\n`);
  process.stdout.write('\nby function:\n');
  for (const [f, ms] of s.functions.slice(0, top))
    process.stdout.write(`  ${pct(ms).padStart(7)}  ${f}\n`);
}
