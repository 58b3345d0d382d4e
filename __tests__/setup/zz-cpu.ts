import * as fs from 'node:fs';
function cpu(): number[] {
  const f = fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return [13, 14, 15, 16].map((i) => Number(f[i - 2]) / 100);
}
let start: number[] = [];
let t0 = 0;
beforeAll(() => { start = cpu(); t0 = Date.now(); });
afterAll(() => {
  const end = cpu();
  const d = end.map((v, i) => v - start[i]);
  fs.appendFileSync('/tmp/prof/cpu.tsv', `${expect.getState().testPath}\t${((Date.now() - t0) / 1000).toFixed(1)}\t${d.map((x) => x.toFixed(1)).join('\t')}\n`);
});
