#!/usr/bin/env bash
# Regenerates deploy/kubernetes/lattice.yaml, the plain manifests, from the Helm chart with its default values
# (LatticeChartTest fails when the two disagree). HELM names the helm binary (default: helm on PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
helm=${HELM:-helm}
{
  echo "# Generated from deploy/helm/lattice by deploy/render-manifests.sh (helm template lattice --namespace lattice)."
  echo "# Apply: kubectl create namespace lattice && kubectl apply -f deploy/kubernetes/lattice.yaml"
  "$helm" template lattice deploy/helm/lattice --namespace lattice
} > deploy/kubernetes/lattice.yaml
