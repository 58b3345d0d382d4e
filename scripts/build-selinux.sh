#!/usr/bin/env bash
# Compiles selinux/<module>.te into a loadable policy package (.pp).
# Usage: scripts/build-selinux.sh [OUT_DIR] [TE_FILE]
#   OUT_DIR  where the .mod and .pp go (default: selinux/, git-ignored build outputs)
#   TE_FILE  the module source (default: selinux/allowregistrypolicy.te)
# Needs checkmodule (package checkpolicy) and semodule_package (semodule-utils / policycoreutils).
# Any error stops the build with a non-zero exit.
set -euo pipefail

repo_root=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
out_dir=${1:-"$repo_root/selinux"}
te_file=${2:-"$repo_root/selinux/allowregistrypolicy.te"}

for tool in checkmodule semodule_package; do
  command -v "$tool" >/dev/null 2>&1 || { echo "build-selinux: $tool not found (apt-get install checkpolicy semodule-utils, or dnf install checkpolicy policycoreutils)" >&2; exit 127; }
done
[ -f "$te_file" ] || { echo "build-selinux: no such module source: $te_file" >&2; exit 2; }

# checkmodule refuses an output whose base name differs from the module name, so name the outputs
# after the 'module <name> <version>;' statement rather than after the file.
module=$(sed -n 's/^[[:space:]]*module[[:space:]]\{1,\}\([A-Za-z0-9_]\{1,\}\)[[:space:]]\{1,\}[0-9.]\{1,\}[[:space:]]*;.*/\1/p' "$te_file" | head -n 1)
[ -n "$module" ] || { echo "build-selinux: no 'module <name> <version>;' statement in $te_file" >&2; exit 2; }
te_base=$(basename -- "$te_file" .te)
[ "$module" = "$te_base" ] || { echo "build-selinux: module name '$module' does not match file name '$te_base.te'" >&2; exit 2; }

mkdir -p -- "$out_dir"
out_dir=$(CDPATH='' cd -- "$out_dir" && pwd)
mod="$out_dir/$module.mod"
pp="$out_dir/$module.pp"
rm -f -- "$mod" "$pp"

checkmodule -M -m -o "$mod" "$te_file"
semodule_package -o "$pp" -m "$mod"
[ -s "$pp" ] || { echo "build-selinux: $pp is missing or empty" >&2; exit 1; }

echo "built $pp"
echo "load it on each SELinux node, as root: semodule -i $pp"
echo "check it is loaded: semodule -l | grep -w $module"
