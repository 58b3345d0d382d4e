#!/bin/sh
# Copies every repository and tag of one registry into another (a host-path registry into a new S3-backed one, say),
# then verifies the destination: every tag's manifest digest equals the source's, and every image is pulled back
# from the destination with each blob checked against its digest. Exits non-zero on the first difference.
#
#   SRC=registry-old.example.internal:5000 DEST=registry.example.internal:5000 \
#   SRC_CREDS=admin:... DEST_CREDS=admin:... CERT_DIR=./certs scripts/migrate-registry.sh
#
# CERT_DIR holds ca.crt (the CA of both registries; or set SRC_CERT_DIR and DEST_CERT_DIR). Credentials go into
# 0600 files in a private temp dir, never onto a command line. Multi-arch indexes are copied whole, digests
# preserved (skopeo --all --preserve-digests). Needs skopeo, curl, jq, sha256sum. Run it again after the last push
# to the old registry: tags already there are copied again quickly (every blob exists) and verified again.
set -eu

: "${SRC:?host:port of the registry to copy from}" "${DEST:?host:port of the registry to copy to}"
: "${SRC_CREDS:?user:password on SRC}" "${DEST_CREDS:?user:password on DEST}"
SRC_CERT_DIR=${SRC_CERT_DIR:-${CERT_DIR:?a directory with ca.crt}}
DEST_CERT_DIR=${DEST_CERT_DIR:-$CERT_DIR}

umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

b64() { printf %s "$1" | base64 | tr -d '\n'; }
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$SRC" "$(b64 "$SRC_CREDS")" >"$work/src-auth.json"
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$DEST" "$(b64 "$DEST_CREDS")" >"$work/dest-auth.json"
# curl's config file syntax: a quoted value with \ and " escaped.
printf 'user = "%s"\n' "$(printf %s "$SRC_CREDS" | sed 's/[\\"]/\\&/g')" >"$work/src.curlrc"

src_get() { curl -sSf -K "$work/src.curlrc" --cacert "$SRC_CERT_DIR/ca.crt" "$@"; }
# src|dest <list-tags|inspect> <repo[:tag]> [options]
src() { command=$1 ref=$2; shift 2; skopeo "$command" "$@" --authfile "$work/src-auth.json" --cert-dir "$SRC_CERT_DIR" "docker://$SRC/$ref"; }
dest() { command=$1 ref=$2; shift 2; skopeo "$command" "$@" --authfile "$work/dest-auth.json" --cert-dir "$DEST_CERT_DIR" "docker://$DEST/$ref"; }

# Every repository, following the catalog's Link pages.
next="/v2/_catalog?n=1000"
: >"$work/repositories"
while [ -n "$next" ]; do
  src_get -D "$work/headers" "https://$SRC$next" | jq -r '.repositories[]?' >>"$work/repositories"
  next=$(sed -n 's/^[Ll]ink: *<\([^>]*\)>.*/\1/p' "$work/headers" | tr -d '\r')
done

images=0
while read -r repo; do
  src list-tags "$repo" | jq -r '.Tags[]?' >"$work/tags"
  while read -r tag; do
    skopeo --insecure-policy copy --quiet --all --preserve-digests \
      --src-authfile "$work/src-auth.json" --src-cert-dir "$SRC_CERT_DIR" \
      --dest-authfile "$work/dest-auth.json" --dest-cert-dir "$DEST_CERT_DIR" \
      "docker://$SRC/$repo:$tag" "docker://$DEST/$repo:$tag" </dev/null
    images=$((images + 1))
  done <"$work/tags"
done <"$work/repositories"
echo "copied $images tags of $(wc -l <"$work/repositories") repositories from $SRC to $DEST"

verified=0
while read -r repo; do
  src list-tags "$repo" | jq -r '.Tags[]?' >"$work/tags"
  while read -r tag; do
    want=$(src inspect "$repo:$tag" --raw </dev/null | sha256sum | cut -d' ' -f1)
    got=$(dest inspect "$repo:$tag" --raw </dev/null | sha256sum | cut -d' ' -f1)
    if [ "$want" != "$got" ]; then
      echo "DIFFERENT: $repo:$tag is sha256:$want on $SRC, sha256:$got on $DEST" >&2
      exit 1
    fi
    # skopeo checks every blob it reads against its digest.
    skopeo --insecure-policy copy --quiet --all --src-authfile "$work/dest-auth.json" --src-cert-dir "$DEST_CERT_DIR" \
      "docker://$DEST/$repo:$tag" "dir:$work/verify" </dev/null
    rm -rf "$work/verify"
    echo "verified $repo:$tag sha256:$got"
    verified=$((verified + 1))
  done <"$work/tags"
done <"$work/repositories"
echo "verified $verified tags on $DEST: every manifest digest equal, every blob digest checked"
