#!/usr/bin/env bash
# Points kube/go.mod at another Kubernetes release: requires k8s.io/kubernetes at that version and replaces each
# staging module it names (k8s.io/api, k8s.io/client-go, …) with the published v0.x of the same release.
#   usage: test/binaries/update-kube.sh 1.36.3
set -euo pipefail
v=${1:?usage: update-kube.sh 1.MINOR.PATCH}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export PATH="/usr/local/go/bin:$PATH"
proxy=${GOPROXY:-https://proxy.golang.org}
proxy=${proxy%%,*}
staging=$(curl -fsSL "$proxy/k8s.io/kubernetes/@v/v$v.mod" | sed -n '/^replace (/,/^)/p' | grep '=> ./staging' | awk '{print $1}')
{
  head -n 3 "$here/kube/go.mod"
  printf 'module workspace-operator/test/binaries/kube\n\ngo 1.26.0\n\nrequire k8s.io/kubernetes v%s\n\nreplace (\n' "$v"
  for m in $staging; do
    # Only modules published for this release (sample modules are not).
    if curl -fsS -o /dev/null "$proxy/$m/@v/v0.${v#1.}.info"; then printf '\t%s => %s v0.%s\n' "$m" "$m" "${v#1.}"; fi
  done
  printf ')\n'
} >"$here/kube/go.mod.new"
mv "$here/kube/go.mod.new" "$here/kube/go.mod"
cd "$here/kube"
go get -tool "k8s.io/kubernetes/cmd/kube-apiserver@v$v" "k8s.io/kubernetes/cmd/kube-controller-manager@v$v" "k8s.io/kubernetes/cmd/kubectl@v$v"
go mod tidy
