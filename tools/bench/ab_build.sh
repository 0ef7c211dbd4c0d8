# Sourced by the side-by-side scripts (demo_ab.sh, step_ab.sh) with the base
# commit in $base: builds emlab at it into $tmp/base and the working tree
# into $tmp/new, $tmp being a fresh directory removed on exit, and prints
# what is compared.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/src"
git archive "$base" | tar -x -C "$tmp/src"
(cd "$tmp/src" && go build -o "$tmp/base" ./cmd/emlab)
go build -o "$tmp/new" ./cmd/emlab
echo -n "base $(git rev-parse --short "$base"), new $(git rev-parse --short HEAD)$(git diff --quiet || echo '+changes')"
