#!/bin/sh
# Regenerates base/prometheusrule.yaml from deploy/prometheus/alerts.yml (the source of truth).
set -eu
cd "$(dirname "$0")"
{
  sed -n '1,8p' base/prometheusrule.yaml
  grep -v '^#' ../prometheus/alerts.yml | sed '/^$/!s/^/  /'
} > base/prometheusrule.yaml.new
mv base/prometheusrule.yaml.new base/prometheusrule.yaml
