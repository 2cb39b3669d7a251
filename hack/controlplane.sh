#!/usr/bin/env bash
# Builds (or reuses) the binaries of the local control plane the tests and the demo run on:
# kube-apiserver, kube-controller-manager and kubectl from k8s.io/kubernetes, etcd from
# go.etcd.io/etcd/server/v3, and helm. Everything comes from the Go module proxy: no Docker and
# no download site is needed. Binaries land in .cache/bin/<version>/ (git-ignored); a binary that
# is already there is not rebuilt. Prints how long each build took.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
K8S_VERSION=$(sed -n 's/^require k8s.io\/kubernetes \(v[0-9.]*\)$/\1/p' "$root/hack/k8s/go.mod")
ETCD_VERSION=$(sed -n 's/^require go.etcd.io\/etcd\/server\/v3 \(v[0-9.]*\)$/\1/p' "$root/hack/etcd/go.mod")
HELM_VERSION=$(sed -n "s/^require helm.sh\/helm\/v3 \\(v[0-9.]*\\)$/\\1/p" "$root/hack/helm/go.mod")
BIN_DIR=${TENDLC_BIN_DIR:-$root/.cache/bin}
export CGO_ENABLED=0 GOFLAGS=-trimpath

major=${K8S_VERSION#v}; major=${major%%.*}
minor=${K8S_VERSION#v*.}; minor=${minor%%.*}
k8s_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
  k8s_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

build() {  # build NAME VERSION DIR -- go build args...
  local name=$1 version=$2 dir=$3; shift 4
  local out="$BIN_DIR/$version/$name"
  mkdir -p "$BIN_DIR/$version"
  ln -sfn "$version/$name" "$BIN_DIR/$name"  # the stable name scripts and tests use
  if [ -x "$out" ]; then
    echo "controlplane: $name $version: cached ($out)"
    return
  fi
  local start=$SECONDS
  (cd "$dir" && go build -o "$out.tmp" "$@")
  mv "$out.tmp" "$out"
  echo "controlplane: $name $version: built in $((SECONDS - start)) s, $(du -h "$out" | cut -f1)"
}

build etcd "$ETCD_VERSION" "$root/hack/etcd" -- -ldflags "-s -w" go.etcd.io/etcd/server/v3
build kube-apiserver "$K8S_VERSION" "$root/hack/k8s" -- -ldflags "$k8s_ldflags" k8s.io/kubernetes/cmd/kube-apiserver
build kube-controller-manager "$K8S_VERSION" "$root/hack/k8s" -- -ldflags "$k8s_ldflags" k8s.io/kubernetes/cmd/kube-controller-manager
build kubectl "$K8S_VERSION" "$root/hack/k8s" -- -ldflags "$k8s_ldflags" k8s.io/kubernetes/cmd/kubectl
build helm "$HELM_VERSION" "$root/hack/helm" -- -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" helm.sh/helm/v3/cmd/helm

echo "controlplane: binaries in $BIN_DIR"
