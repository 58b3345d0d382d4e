import { Fn, Op, TerraformLocal, Token } from 'cdktf';
import type { Construct } from 'constructs';

const FIELDS = { year: 'YYYY', month: 'M', day: 'D', hour: 'h', minute: 'm', second: 's' } as const;

/**
 * Unix seconds of an RFC 3339 timestamp (the certificate's `validity_end_time`), as a Terraform expression: Terraform
 * has no epoch function, so this is the civil-date-to-days algorithm (H. Hinnant, `days_from_civil`) in arithmetic,
 * with the era folded in: days = 365y + y/4 - y/100 + y/400 + day of the March-based year - 719468.
 * The offset of the timestamp is ignored (the tls provider writes UTC, "Z"). No literal 0 operand: cdktf drops them.
 *
 * Every step is a Terraform local (`<id>-fields`, `-year`, `-leap-days`, `-day-of-year`, `-days`, `-seconds`): as one
 * nested cdktf expression, each field repeated in every subterm, the token resolver took two minutes per synth; with
 * the result inline in each alert rule that names it, still ~1 s of every synth with monitoring (each copy resolved
 * anew, twice per synth). A reference to a local costs nothing.
 */
export function unixSeconds(scope: Construct, id: string, timestamp: string): number {
  const fields = new TerraformLocal(scope, `${id}-fields`,
    Object.fromEntries(Object.entries(FIELDS).map(([name, format]) => [name, Fn.tonumber(Fn.formatdate(format, timestamp))])));
  const field = (name: keyof typeof FIELDS) => Token.asNumber(Fn.lookup(fields.expression, name));
  const month = field('month');
  const local = (name: string, expression: unknown) => new TerraformLocal(scope, `${id}-${name}`, expression).asNumber;
  // January and February count as months 11 and 12 of the previous year.
  const y = local('year', Op.sub(field('year'), Fn.floor(Op.div(Op.sub(14, month), 12))));
  const leapDays = local('leap-days', Op.add(Op.sub(Fn.floor(Op.div(y, 4)), Fn.floor(Op.div(y, 100))), Fn.floor(Op.div(y, 400))));
  const dayOfYear = local('day-of-year', Op.add(Fn.floor(Op.div(Op.add(Op.mul(153, Op.mod(Op.add(month, 9), 12)), 2), 5)), Op.sub(field('day'), 1)));
  const days = local('days', Op.sub(Op.add(Op.add(Op.mul(y, 365), leapDays), dayOfYear), 719468));
  const seconds = Op.add(Op.add(Op.mul(field('hour'), 3600), Op.mul(field('minute'), 60)), field('second'));
  return local('seconds', Op.add(Op.mul(days, 86400), seconds));
}
