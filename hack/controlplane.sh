#!/usr/bin/env bash
# Builds (or reuses) the binaries of the local control plane the tests and the demo run on:
# kube-apiserver, kube-controller-manager and kubectl from k8s.io/kubernetes, etcd from
# go.etcd.io/etcd/server/v3, and helm. Everything comes from the Go module proxy: no Docker and
# no download site is needed. Binaries land in .cache/bin/<version>/ (git-ignored); a binary that
# is already there is not rebuilt. Prints how long each build took.
#
#   bash hack/controlplane.sh                 # all five (what `make test` needs)
#   bash hack/controlplane.sh etcd kubectl    # only these (`make demo` needs no helm)
#
# The first build takes about 20 minutes on 2 cores, most of it kube-apiserver and
# kube-controller-manager; the script says so before it starts and reports each binary as it goes.
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

ALL=(etcd kube-apiserver kube-controller-manager kubectl helm)
if [ "$#" -gt 0 ]; then wanted=("$@"); else wanted=("${ALL[@]}"); fi

version_of() {
  case $1 in
    etcd) echo "$ETCD_VERSION" ;;
    helm) echo "$HELM_VERSION" ;;
    kube-apiserver | kube-controller-manager | kubectl) echo "$K8S_VERSION" ;;
  esac
}

for name in "${wanted[@]}"; do
  case " ${ALL[*]} " in
    *" $name "*) ;;
    *) echo "controlplane: unknown binary '$name' (known: ${ALL[*]})" >&2; exit 2 ;;
  esac
done
missing=()
for name in "${wanted[@]}"; do
  [ -x "$BIN_DIR/$(version_of "$name")/$name" ] || missing+=("$name")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "controlplane: building ${missing[*]} from the Go module proxy into $BIN_DIR."
  echo "controlplane: the first time this takes about 20 minutes on 2 cores (kube-apiserver and"
  echo "controlplane: kube-controller-manager are the long ones); afterwards the binaries are reused."
fi

step=0
build() {  # build NAME VERSION DIR -- go build args...
  local name=$1 version=$2 dir=$3; shift 4
  local out="$BIN_DIR/$version/$name"
  step=$((step + 1))
  mkdir -p "$BIN_DIR/$version"
  ln -sfn "$version/$name" "$BIN_DIR/$name"  # the stable name scripts and tests use
  if [ -x "$out" ]; then
    echo "controlplane: [$step/${#wanted[@]}] $name $version: cached ($out)"
    return
  fi
  echo "controlplane: [$step/${#wanted[@]}] $name $version: building…"
  local start=$SECONDS
  (cd "$dir" && go build -o "$out.tmp" "$@")
  mv "$out.tmp" "$out"
  echo "controlplane: [$step/${#wanted[@]}] $name $version: built in $((SECONDS - start)) s, $(du -h "$out" | cut -f1)"
}

for name in "${wanted[@]}"; do
  case $name in
    etcd) build etcd "$ETCD_VERSION" "$root/hack/etcd" -- -ldflags "-s -w" go.etcd.io/etcd/server/v3 ;;
    kube-apiserver | kube-controller-manager | kubectl)
      build "$name" "$K8S_VERSION" "$root/hack/k8s" -- -ldflags "$k8s_ldflags" "k8s.io/kubernetes/cmd/$name" ;;
    helm)
      build helm "$HELM_VERSION" "$root/hack/helm" -- \
        -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" helm.sh/helm/v3/cmd/helm ;;
  esac
done

echo "controlplane: binaries in $BIN_DIR"
