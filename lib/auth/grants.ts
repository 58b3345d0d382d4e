/**
 * Roles: who may do what on which repositories, as the front (lib/registry/front.ts) reads it. Pure: no cdktf
 * import. The grants file is a Terraform template over the role variables, so a role changed in a tfvars file or a
 * workspace variable reaches the pod in the same apply (its content hash is on the pod template).
 *
 * A role entry is `<user>:admin`, `<user>:push:<glob>[,<glob>...]` or `<user>:pull:<glob>[,<glob>...]`. A glob is a
 * repository name where `*` stands for any characters within one path component and `**` for any characters across
 * components: `team-a/*` grants `team-a/app` but not `team-a/x/app`; `team-a/**` grants both; `**` grants every
 * repository.
 *
 * Each line of the file is an nginx `map` entry: a regular expression over `<user>:<action>:<repository>` and `1`.
 * - admin: every action on every repository and every other route (`_catalog`, DELETE);
 * - push: pull and push on the repositories named (no DELETE);
 * - pull: pull on the repositories named;
 * - `/v2/` (the login check): every authenticated user (in front.ts);
 * - anonymous: pull on the repositories `anonymous_pull_repositories` names, with an empty user.
 * Users that authenticate but have no role entry (`registry_users`, `htpasswd_entries`) keep what they had before
 * roles existed: admin. The pull-secret user `<app_name>-pull` gets pull on every repository, nothing else.
 */

/** HCL: `glob` (an expression) as a PCRE fragment; `#` never occurs in a valid glob (lib/rules.ts `repositoryGlob`). */
const globRegexHcl = (glob: string) => String.raw`replace(replace(replace(replace(${glob}, ".", "\\."), "**", "#"), "*", "[^/]*"), "#", ".*")`;
const globsRegexHcl = (globs: string) => `join("|", [for g in ${globs} : ${globRegexHcl('g')}])`;
const userRegexHcl = (user: string) => String.raw`replace(${user}, ".", "\\.")`;

export interface GrantVariables {
  /** `list(string)` of role entries. */
  readonly roles: string;
  /** `list(string)` of repository globs anyone may pull. */
  readonly anonymousPull: string;
  /** The pull-secret user's name (an expression). */
  readonly pullUser: string;
}

/**
 * The grants file as a Terraform expression (without `${}`) over the given references (`var.registry_roles`, ...).
 * Users without a role entry are admin through one line that excludes the users with one (a PCRE lookahead), so
 * the file never reads the user names of `htpasswd_entries`, a sensitive variable.
 */
export function grantsExpression(v: GrantVariables): string {
  const line = (regex: string, ...args: string[]) => String.raw`format("\"~^${regex}\" 1;\n", ${args.join(', ')})`;
  const entries = `[for e in ${v.roles} : split(":", "\${e}:")]`;
  const explicit = `[for p in ${entries} : ${line('%s:%s', userRegexHcl('p[0]'),
    `p[1] == "admin" ? "" : format("%s:(%s)$", p[1] == "push" ? "(pull|push)" : "pull", ${globsRegexHcl('split(",", p[2])')})`)}]`;
  const withRole = `concat([for e in ${v.roles} : ${userRegexHcl('split(":", e)[0]')}], [${v.pullUser}])`;
  const others = line('(?!(%s):)[^:]+:', `join("|", ${withRole})`);
  const pullUser = line('%s:pull:', v.pullUser);
  const anonymous = `length(${v.anonymousPull}) == 0 ? [] : [${line(':pull:(%s)$', globsRegexHcl(v.anonymousPull))}]`;
  return `join("", concat(${explicit}, [${pullUser}, ${others}], ${anonymous}))`;
}
