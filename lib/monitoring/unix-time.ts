import { Fn, Op, Token } from 'cdktf';

/**
 * Unix seconds of an RFC 3339 timestamp (the certificate's `validity_end_time`), as a Terraform expression: Terraform
 * has no epoch function, so this is the civil-date-to-days algorithm (H. Hinnant, `days_from_civil`) in arithmetic.
 * The offset of the timestamp is ignored (the tls provider writes UTC, "Z"). No literal 0 operand: cdktf drops them.
 */
export function unixSeconds(timestamp: string): number {
  const part = (format: string) => Fn.tonumber(Fn.formatdate(format, timestamp));
  const [year, month, day] = [part('YYYY'), part('M'), part('D')];
  // January and February count as months 11 and 12 of the previous year.
  const early = Fn.floor(Op.div(Op.sub(14, month), 12));
  const y = Op.sub(year, early);
  const era = Fn.floor(Op.div(y, 400));
  const yearOfEra = Op.sub(y, Op.mul(era, 400));
  const dayOfYear = Op.add(Fn.floor(Op.div(Op.add(Op.mul(153, Op.mod(Op.add(month, 9), 12)), 2), 5)), Op.sub(day, 1));
  const dayOfEra = Op.add(Op.sub(Op.add(Op.mul(yearOfEra, 365), Fn.floor(Op.div(yearOfEra, 4))), Fn.floor(Op.div(yearOfEra, 100))), dayOfYear);
  const days = Op.sub(Op.add(Op.mul(era, 146097), dayOfEra), 719468);
  const seconds = Op.add(Op.add(Op.mul(part('h'), 3600), Op.mul(part('m'), 60)), part('s'));
  return Token.asNumber(Op.add(Op.mul(days, 86400), seconds));
}
