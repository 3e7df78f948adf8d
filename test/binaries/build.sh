#!/usr/bin/env bash
# Builds the test and development binaries (etcd, kube-apiserver, kube-controller-manager, kubectl, helm; promtool
# only when named) from their published Go modules, once. Each set lands in a cache folder outside the clone, keyed by its version and
# by a hash of its go.mod and go.sum, so later runs (and fresh clones on the same machine) reuse it.
#
#   WSOP_BIN_CACHE   where built binaries are kept (default ~/.cache/workspace-operator/bin)
#
# Prints the folder of each set on stdout as NAME=PATH lines; progress goes to stderr.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${WSOP_BIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/workspace-operator/bin}
export PATH="/usr/local/go/bin:$PATH"
export CGO_ENABLED=0
# Go's own caches stay in their usual places under the home directory, so a fresh clone reuses them too.

log() { printf '[binaries] %s\n' "$*" >&2; }

# module_version MODULE_DIR MODULE_PATH: the version that go.mod requires.
module_version() {
  (cd "$1" && go list -m -f '{{.Version}}' "$2")
}

# key MODULE_DIR VERSION: version plus a short hash of the module files, so an edited go.mod rebuilds.
key() {
  local sum
  sum=$(cat "$1/go.mod" "$1/go.sum" | sha256sum | cut -c1-12)
  printf '%s-%s' "$2" "$sum"
}

# build NAME MODULE_DIR LDFLAGS VERSION RENAME PACKAGE... : builds the packages into $cache/NAME-KEY unless already
# there. RENAME is "from:to" for a binary whose package name is not the command's name, or "-".
build() {
  local name=$1 dir=$2 ldflags=$3 version=$4 rename=$5
  shift 5
  local out="$cache/$name-$(key "$dir" "$version")"
  if [ -f "$out/.complete" ]; then
    log "$name $version: cached in $out"
    printf '%s=%s\n' "$name" "$out"
    return
  fi
  mkdir -p "$out"
  local started=$SECONDS buildlog="$out/build.log"
  log "$name $version: building $* (first run only; this takes several minutes on 2 cores)"
  log "$name $version: downloading modules"
  (cd "$dir" && go mod download) >"$buildlog" 2>&1 || { tail -n 40 "$buildlog" >&2; exit 1; }
  local total
  total=$(cd "$dir" && go list -deps "$@" 2>/dev/null | wc -l)
  log "$name $version: compiling about $total packages"
  # go build -v names each package as it compiles it; turn that into a progress line every 10 %.
  set +e
  (cd "$dir" && go build -v -trimpath -ldflags "$ldflags" -o "$out/" "$@" 2>&1) |
    tee -a "$buildlog" |
    awk -v total="$total" -v name="$name" '
      { n++; pct = int(100 * n / (total > 0 ? total : 1)); if (pct >= next_pct && pct <= 100) {
          printf "[binaries] %s: %d%% (%d of ~%d packages)\n", name, pct, n, total > "/dev/stderr"; next_pct = pct + 10 } }'
  local rc=${PIPESTATUS[0]}
  set -e
  if [ "$rc" -ne 0 ]; then
    log "$name: build failed; the last lines of $buildlog:"
    tail -n 40 "$buildlog" >&2
    exit 1
  fi
  if [ "$rename" != - ]; then mv "$out/${rename%%:*}" "$out/${rename#*:}"; fi
  touch "$out/.complete"
  log "$name $version: built in $((SECONDS - started)) s into $out"
  printf '%s=%s\n' "$name" "$out"
}

want=${1:-all}

if [ "$want" = all ] || [ "$want" = etcd ]; then
  v=$(module_version "$here/etcd" go.etcd.io/etcd/server/v3)
  build etcd "$here/etcd" "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=module" "$v" server:etcd go.etcd.io/etcd/server/v3
fi

if [ "$want" = all ] || [ "$want" = kube ]; then
  v=$(module_version "$here/kube" k8s.io/kubernetes)
  minor=$(printf '%s' "$v" | cut -d. -f2)
  flags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags="$flags -X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  build kube "$here/kube" "$flags" "$v" - \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kubectl
fi

if { [ "$want" = all ] || [ "$want" = helm ]; } && [ -f "$here/helm/go.mod" ]; then
  v=$(module_version "$here/helm" helm.sh/helm/v3)
  build helm "$here/helm" "-s -w -X helm.sh/helm/v3/internal/version.version=$v" "$v" - helm.sh/helm/v3/cmd/helm
fi

# promtool only when asked for (the chart's alerting rule tests ask): it is not needed to run the platform.
if [ "$want" = promtool ] && [ -f "$here/promtool/go.mod" ]; then
  v=$(module_version "$here/promtool" github.com/prometheus/prometheus)
  build promtool "$here/promtool" "-s -w" "$v" - github.com/prometheus/prometheus/cmd/promtool
fi
