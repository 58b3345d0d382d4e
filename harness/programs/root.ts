/** Running programs as root without capabilities (the stand-in for a container's security context). */
/** True when this process is root: then programs can be run as uid 0 with a chosen capability set. */
export const isRoot = process.getuid?.() === 0;

/**
 * `setpriv` arguments that run a program as uid 0 holding only `caps` (e.g. [] or ['chown']), with
 * no_new_privs, as a container with `capabilities: {drop: [ALL], add: caps}` and allowPrivilegeEscalation: false.
 */
export function rootWithCapabilities(caps: string[]): string[] {
  const set = ['-all', ...caps.map((c) => `+${c}`)].join(',');
  return ['--reuid=0', '--regid=0', '--clear-groups', `--inh-caps=${set}`, `--bounding-set=${set}`, '--no-new-privs'];
}
