import { compileCrd, pinnedCrds } from './harness/crd';
import { functionsCalled } from './harness/crd/cel';
for (const crd of pinnedCrds().values()) {
  const c = compileCrd(crd);
  const f = new Set<string>();
  for (const rules of c.rules.values()) for (const r of rules) for (const n of functionsCalled(r.rule.rule)) f.add(n);
  console.log(crd.kind, crd.version, c.ruleCount, [...f].sort().join(','));
}
