#!/usr/bin/env bash
# `make kind-demo`: tendlc in a kind cluster, for users with Docker. Builds the operator image
# (Dockerfile) and the sandbox image (Dockerfile.sandbox), loads both into a kind cluster
# (hack/kind/cluster.yaml), runs the Infobip/TCR sandbox in it (hack/kind/sandbox.yaml), installs
# the chart (hack/kind/values.yaml) and applies the three examples with their LOA Secrets.
# Needs docker, kind, kubectl and helm on PATH. `KIND_DEMO_DELETE=1 make kind-demo` removes the
# cluster afterwards. Then `TENDLC_TEST_KUBECONFIG=<printed path> make test` runs the suite there.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
version=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' operator/tendlc/__init__.py)
cluster=${KIND_CLUSTER_NAME:-tendlc}
kubeconfig=${KIND_KUBECONFIG:-$root/.cache/kind/kubeconfig}
system=tendlc-system
demo=tendlc-demo

for tool in docker kind kubectl helm; do
  command -v "$tool" >/dev/null 2>&1 || { echo "kind-demo: $tool is not on PATH" >&2; exit 1; }
done
say() { echo "kind-demo: $*"; }

say "building tendlc/operator:$version and tendlc/sandbox:$version"
docker build -t "tendlc/operator:$version" .
docker build -f Dockerfile.sandbox -t "tendlc/sandbox:$version" .

mkdir -p "$(dirname "$kubeconfig")"
if ! kind get clusters | grep -qx "$cluster"; then
  say "creating kind cluster $cluster"
  kind create cluster --name "$cluster" --config hack/kind/cluster.yaml --kubeconfig "$kubeconfig" --wait 120s
else
  kind export kubeconfig --name "$cluster" --kubeconfig "$kubeconfig"
fi
export KUBECONFIG=$kubeconfig
kind load docker-image --name "$cluster" "tendlc/operator:$version" "tendlc/sandbox:$version"

kubectl create namespace "$system" --dry-run=client -o yaml | kubectl apply -f -
kubectl create namespace "$demo" --dry-run=client -o yaml | kubectl apply -f -
kubectl apply -f hack/kind/sandbox.yaml
kubectl -n "$system" rollout status deployment/tendlc-sandbox --timeout=120s
kubectl -n "$system" create secret generic infobip-credentials --from-literal=apiKey=sandbox-infobip-key \
  --dry-run=client -o yaml | kubectl apply -f -
kubectl -n "$system" create secret generic tcr-credentials --from-literal=apiKey=sandbox-tcr-key \
  --from-literal=apiSecret=sandbox-tcr-secret --dry-run=client -o yaml | kubectl apply -f -

say "installing the chart"
helm upgrade --install tendlc helm/tendlc -n "$system" -f hack/kind/values.yaml --set "image.tag=$version" --wait
helm test tendlc -n "$system"

today=$(date -u +%F)
for manifest in examples/*.yaml; do
  secret=$(sed -n 's/^ *name: \(.*-loa\)$/\1/p' "$manifest" | head -1)
  kubectl -n "$demo" create secret generic "$secret" --from-literal=loa.pdf="%PDF-1.7 (demo) signed LOA" \
    --from-literal=signedDate="$today" --dry-run=client -o yaml | kubectl apply -f -
  kubectl -n "$demo" label secret "$secret" tendlc.io/usage=loa --overwrite
  kubectl -n "$demo" apply -f "$manifest"
done

say "applied examples/; watch them with:"
echo "  export KUBECONFIG=$kubeconfig"
echo "  kubectl -n $demo get cmig -w"
echo "  # con4711 (own NNID) waits for your OSR update; play the customer:"
echo "  kubectl -n $system port-forward svc/tendlc-sandbox 8085 &"
echo "  curl -X POST localhost:8085/_admin/campaigns/CON4711/osr-updated"
echo "  kubectl -n $demo annotate cmig con4711 tendlc.io/osr-updated=\$(date -u +%FT%TZ)"
echo "  TENDLC_TEST_KUBECONFIG=$kubeconfig make test   # the suite against this cluster"
if [ "${KIND_DEMO_DELETE:-0}" = 1 ]; then
  kind delete cluster --name "$cluster"
fi
